export interface DeliveryMessageInput {
  planName: string;
  durationDays: number;
  periodEnd: Date;
  links: Array<{ channelTitle: string; url: string; expiresAt: Date }>;
}

const escapeHtml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const day = (date: Date): string => date.toISOString().slice(0, 10);
const minute = (date: Date): string => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** The one message a paid customer receives: plan, period and every invite link (Telegram HTML). */
export function formatDeliveryMessage(input: DeliveryMessageInput): string {
  const firstExpiry = input.links.reduce<Date | null>((min, l) => (!min || l.expiresAt < min ? l.expiresAt : min), null);
  return [
    '<b>Payment received. Welcome aboard!</b>',
    '',
    `Plan: <b>${escapeHtml(input.planName)}</b> (${input.durationDays} days, until ${day(input.periodEnd)})`,
    '',
    'Your personal invite links (each admits one person, you):',
    ...input.links.map((l) => `• <a href="${escapeHtml(l.url)}">${escapeHtml(l.channelTitle)}</a>`),
    '',
    firstExpiry ? `Please join before ${minute(firstExpiry)}; after that, ask us for fresh links.` : '',
  ]
    .join('\n')
    .trim();
}
