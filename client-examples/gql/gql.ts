/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "query AdminPayments($first: Int!, $filter: PaymentFilter) {\n  payments(first: $first, filter: $filter) {\n    totalCount\n    edges {\n      node {\n        id\n        status\n        amountMinor\n        currency\n        customerId\n        planId\n        createdAt\n        statusChangedAt\n      }\n    }\n  }\n}\n\nquery AdminAlerts($first: Int!, $filter: AlertFilter) {\n  alerts(first: $first, filter: $filter) {\n    totalCount\n    edges {\n      node {\n        ...AlertFields\n      }\n    }\n  }\n}\n\nmutation ResolveAlert($id: ID!, $note: String) {\n  resolveAlert(id: $id, note: $note) {\n    ...AlertFields\n  }\n}\n\nsubscription LiveAlertRaised($minSeverity: AlertSeverity) {\n  alertRaised(minSeverity: $minSeverity) {\n    ...AlertFields\n  }\n}\n\nsubscription LivePaymentStatusChanged {\n  paymentStatusChanged {\n    paymentId\n    customerId\n    from\n    to\n    at\n    actor\n    reason\n  }\n}\n\nfragment AlertFields on Alert {\n  id\n  type\n  severity\n  title\n  detail\n  subjectType\n  subjectId\n  occurrences\n  createdAt\n  resolvedAt\n  resolvedBy\n  resolutionNote\n}": typeof types.AdminPaymentsDocument,
};
const documents: Documents = {
    "query AdminPayments($first: Int!, $filter: PaymentFilter) {\n  payments(first: $first, filter: $filter) {\n    totalCount\n    edges {\n      node {\n        id\n        status\n        amountMinor\n        currency\n        customerId\n        planId\n        createdAt\n        statusChangedAt\n      }\n    }\n  }\n}\n\nquery AdminAlerts($first: Int!, $filter: AlertFilter) {\n  alerts(first: $first, filter: $filter) {\n    totalCount\n    edges {\n      node {\n        ...AlertFields\n      }\n    }\n  }\n}\n\nmutation ResolveAlert($id: ID!, $note: String) {\n  resolveAlert(id: $id, note: $note) {\n    ...AlertFields\n  }\n}\n\nsubscription LiveAlertRaised($minSeverity: AlertSeverity) {\n  alertRaised(minSeverity: $minSeverity) {\n    ...AlertFields\n  }\n}\n\nsubscription LivePaymentStatusChanged {\n  paymentStatusChanged {\n    paymentId\n    customerId\n    from\n    to\n    at\n    actor\n    reason\n  }\n}\n\nfragment AlertFields on Alert {\n  id\n  type\n  severity\n  title\n  detail\n  subjectType\n  subjectId\n  occurrences\n  createdAt\n  resolvedAt\n  resolvedBy\n  resolutionNote\n}": types.AdminPaymentsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query AdminPayments($first: Int!, $filter: PaymentFilter) {\n  payments(first: $first, filter: $filter) {\n    totalCount\n    edges {\n      node {\n        id\n        status\n        amountMinor\n        currency\n        customerId\n        planId\n        createdAt\n        statusChangedAt\n      }\n    }\n  }\n}\n\nquery AdminAlerts($first: Int!, $filter: AlertFilter) {\n  alerts(first: $first, filter: $filter) {\n    totalCount\n    edges {\n      node {\n        ...AlertFields\n      }\n    }\n  }\n}\n\nmutation ResolveAlert($id: ID!, $note: String) {\n  resolveAlert(id: $id, note: $note) {\n    ...AlertFields\n  }\n}\n\nsubscription LiveAlertRaised($minSeverity: AlertSeverity) {\n  alertRaised(minSeverity: $minSeverity) {\n    ...AlertFields\n  }\n}\n\nsubscription LivePaymentStatusChanged {\n  paymentStatusChanged {\n    paymentId\n    customerId\n    from\n    to\n    at\n    actor\n    reason\n  }\n}\n\nfragment AlertFields on Alert {\n  id\n  type\n  severity\n  title\n  detail\n  subjectType\n  subjectId\n  occurrences\n  createdAt\n  resolvedAt\n  resolvedBy\n  resolutionNote\n}"): (typeof documents)["query AdminPayments($first: Int!, $filter: PaymentFilter) {\n  payments(first: $first, filter: $filter) {\n    totalCount\n    edges {\n      node {\n        id\n        status\n        amountMinor\n        currency\n        customerId\n        planId\n        createdAt\n        statusChangedAt\n      }\n    }\n  }\n}\n\nquery AdminAlerts($first: Int!, $filter: AlertFilter) {\n  alerts(first: $first, filter: $filter) {\n    totalCount\n    edges {\n      node {\n        ...AlertFields\n      }\n    }\n  }\n}\n\nmutation ResolveAlert($id: ID!, $note: String) {\n  resolveAlert(id: $id, note: $note) {\n    ...AlertFields\n  }\n}\n\nsubscription LiveAlertRaised($minSeverity: AlertSeverity) {\n  alertRaised(minSeverity: $minSeverity) {\n    ...AlertFields\n  }\n}\n\nsubscription LivePaymentStatusChanged {\n  paymentStatusChanged {\n    paymentId\n    customerId\n    from\n    to\n    at\n    actor\n    reason\n  }\n}\n\nfragment AlertFields on Alert {\n  id\n  type\n  severity\n  title\n  detail\n  subjectType\n  subjectId\n  occurrences\n  createdAt\n  resolvedAt\n  resolvedBy\n  resolutionNote\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;