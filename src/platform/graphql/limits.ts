import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';
import { fieldExtensionsEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';
import { AppError } from '../shared/errors';

export interface DocumentLimits {
  maxDepth: number;
  /** Field selections once every fragment spread is expanded: what execution and the complexity count would walk. */
  maxFields: number;
}

interface Shape {
  depth: number;
  fields: number;
}

/**
 * Measures each fragment once and reuses the result, so a document of nested spreads
 * (`fragment F2 { ...F1 ...F1 }`, doubling at every level) costs time linear in its size while the
 * counts it reports grow as fast as the expansion would. Counts saturate at Infinity, never wrap.
 */
function measureDocument(document: DocumentNode): (set: SelectionSetNode | undefined) => Shape {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  const measured = new Map<string, Shape>();
  const inProgress = new Set<string>();
  const measure = (set: SelectionSetNode | undefined): Shape => {
    const shape = { depth: 0, fields: 0 };
    for (const selection of set?.selections ?? []) {
      let inner: Shape;
      if (selection.kind === Kind.FIELD) {
        const child = measure(selection.selectionSet);
        inner = { depth: child.depth + 1, fields: child.fields + 1 };
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        inner = measure(selection.selectionSet);
      } else {
        inner = spread(selection.name.value);
      }
      shape.depth = Math.max(shape.depth, inner.depth);
      shape.fields += inner.fields;
    }
    return shape;
  };
  const spread = (name: string): Shape => {
    const known = measured.get(name);
    if (known) return known;
    // A cycle (reported by NoFragmentCyclesRule) or an unknown fragment (KnownFragmentNamesRule) adds nothing here.
    const fragment = fragments.get(name);
    if (!fragment || inProgress.has(name)) return { depth: 0, fields: 0 };
    inProgress.add(name);
    const shape = measure(fragment.selectionSet);
    inProgress.delete(name);
    measured.set(name, shape);
    return shape;
  };
  return measure;
}

/**
 * Refuses operations nested deeper than `maxDepth` fields or selecting more than `maxFields` fields
 * once fragments are expanded (introspection included). It runs with the validation rules, before
 * the complexity count, which expands fragments one by one and would otherwise do the exponential
 * work this rule exists to refuse.
 */
export function documentLimits(limits: DocumentLimits) {
  return (context: ValidationContext): ASTVisitor => {
    const measure = measureDocument(context.getDocument());
    return {
      OperationDefinition(node) {
        const { depth, fields } = measure(node.selectionSet);
        // Apollo recodes validation errors as GRAPHQL_VALIDATION_FAILED; the AppError inside keeps BAD_USER_INPUT through the formatter.
        const refuse = (error: AppError) => context.reportError(new GraphQLError(error.message, { nodes: [node], originalError: error, extensions: { code: error.code } }));
        if (depth > limits.maxDepth) {
          refuse(AppError.badInput(`Operation depth ${depth} exceeds the limit of ${limits.maxDepth}`, { depth, max: limits.maxDepth }));
        } else if (fields > limits.maxFields) {
          const count = Number.isFinite(fields) ? String(fields) : 'too many';
          refuse(AppError.badInput(`Operation selects ${count} fields once fragments are expanded; the limit is ${limits.maxFields}`, { max: limits.maxFields }));
        }
      },
    };
  };
}

const complexityError = (message: string, extensions: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', ...extensions } });

/**
 * Throws a coded error when an operation would cost more than `max`. Whatever goes wrong while
 * counting (variables that do not coerce, a count that is not a finite, non-negative number) refuses
 * the operation: an operation whose cost is unknown does not run.
 */
export function assertComplexity(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | undefined, operationName: string | undefined, max: number): void {
  let complexity: number;
  try {
    complexity = getComplexity({
      schema,
      query: document,
      variables,
      operationName,
      estimators: [fieldExtensionsEstimator(), simpleEstimator({ defaultComplexity: 1 })],
    });
  } catch (error) {
    if (error instanceof GraphQLError && error.extensions.code) throw error;
    throw complexityError(`Operation complexity could not be computed: ${error instanceof Error ? error.message : String(error)}`, { max });
  }
  if (!Number.isFinite(complexity) || complexity < 0) throw complexityError('Operation complexity could not be computed', { max });
  if (complexity > max) throw complexityError(`Operation complexity ${complexity} exceeds the limit of ${max}`, { complexity, max });
}
