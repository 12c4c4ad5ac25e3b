import { Entity, Index, Property } from '@mikro-orm/core';
import { Field, ObjectType } from 'type-graphql';
import { GraphQLJSON } from 'graphql-scalars';
import { BaseEntity } from '../platform/database/base.entity';

/** Who (operator or system job) did what to which subject, when, before → after. Append-only. */
@ObjectType()
@Entity({ tableName: 'audit_entries' })
@Index({ properties: ['subjectType', 'subjectId', 'at'] })
// auditTrail(subject): by subject id alone, newest first.
@Index({ properties: ['subjectId', 'createdAt'] })
export class AuditEntry extends BaseEntity {
  @Field({ description: 'operator:<sub>, apikey:<name>, customer:<id>, system:<component>' })
  @Property({ type: 'text' })
  actor!: string;

  @Field()
  @Property({ type: 'text' })
  action!: string;

  @Field()
  @Property({ type: 'text' })
  subjectType!: string;

  @Field()
  @Property({ type: 'text' })
  subjectId!: string;

  @Field(() => GraphQLJSON, { nullable: true })
  @Property({ type: 'jsonb', nullable: true })
  before: Record<string, unknown> | null = null;

  @Field(() => GraphQLJSON, { nullable: true })
  @Property({ type: 'jsonb', nullable: true })
  after: Record<string, unknown> | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  note: string | null = null;

  @Field(() => String, { nullable: true })
  @Property({ type: 'text', nullable: true })
  requestId: string | null = null;

  @Field()
  @Property({ type: 'timestamptz' })
  at!: Date;
}
