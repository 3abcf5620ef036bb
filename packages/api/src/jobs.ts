import { type Static, Type } from '@sinclair/typebox';

export const JobStatus = Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('dead')]);
export type JobStatus = Static<typeof JobStatus>;

/** An asynchronous unit of work; async endpoints answer 202 with one of these. */
export const Job = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  status: JobStatus,
  attempts: Type.Integer(),
  max_attempts: Type.Integer(),
  run_at: Type.String(),
  last_error: Type.Union([Type.Null(), Type.String()]),
  result: Type.Unknown(),
  created_at: Type.String(),
  updated_at: Type.String(),
  finished_at: Type.Union([Type.Null(), Type.String()]),
});
export type Job = Static<typeof Job>;
