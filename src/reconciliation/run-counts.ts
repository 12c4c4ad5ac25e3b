import type { FindingRecorder } from './finding-recorder';
import { FindingType } from './reconciliation-finding.entity';

/** The run's per-finding columns from what the recorder stored. */
export function countsOf(recorder: FindingRecorder) {
  return {
    outOfSync: recorder.count(FindingType.PAYMENT_OUT_OF_SYNC),
    stuckAuthorizations: recorder.count(FindingType.STUCK_AUTHORIZATION),
    failedPayouts: recorder.count(FindingType.FAILED_PAYOUT),
    missingPayments: recorder.count(FindingType.MISSING_PAYMENT),
    unknownGatewayPayments: recorder.count(FindingType.UNKNOWN_GATEWAY_PAYMENT),
    noShowsReleased: recorder.count(FindingType.NO_SHOW_AUTO_RELEASED),
    missedWebhooks: recorder.count(FindingType.MISSED_WEBHOOK),
  };
}
