import { type Static, Type } from '@sinclair/typebox';
import { Timestamp } from './common.js';

/** A session's name, chosen by the caller (`support:ticket-42`). */
export const SESSION_ID_PATTERN = '^[A-Za-z0-9._:-]{1,128}$';
export const SessionParams = Type.Object({ sid: Type.String({ pattern: SESSION_ID_PATTERN }) });
export type SessionParams = Static<typeof SessionParams>;

/** What a sender sends: a type (optional, for the receiver's dispatch) and any JSON. */
export const SendMessage = Type.Object(
  {
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    data: Type.Unknown({ description: 'Any JSON value (at most LOAM_BUS_MAX_MESSAGE_BYTES, 256 KiB by default)' }),
  },
  { additionalProperties: false },
);
export type SendMessage = Static<typeof SendMessage>;

/** One message, or a batch of up to 1,000 committed together (consecutive positions). */
export const SendMessages = Type.Union([SendMessage, Type.Array(SendMessage, { minItems: 1, maxItems: 1000 })]);
export type SendMessages = Static<typeof SendMessages>;

/** A persisted message, as every reader (history, SSE, WebSocket, SDK) sees it. */
export const BusMessage = Type.Object({
  id: Type.String(),
  /** 1, 2, 3, … within the session: resume from the last one you have. */
  position: Type.Integer({ minimum: 1 }),
  type: Type.Union([Type.Null(), Type.String()]),
  data: Type.Unknown(),
  time: Timestamp,
});
export type BusMessage = Static<typeof BusMessage>;

export const SentMessages = Type.Object({
  session_id: Type.String(),
  messages: Type.Array(BusMessage),
});
export type SentMessages = Static<typeof SentMessages>;

export const MessagesQuery = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0, description: 'Position to read after (0 = from the start)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(
    Type.String({ maxLength: 512, description: 'From links.next / links.prev (a page of the messages after `after`)' }),
  ),
});
export type MessagesQuery = Static<typeof MessagesQuery>;

export const StreamQuery = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0, description: 'Position to start after; Last-Event-ID wins when sent' })),
  token: Type.Optional(Type.String({ maxLength: 2048, description: 'A short-lived session token (browsers cannot set headers)' })),
});
export type StreamQuery = Static<typeof StreamQuery>;

export const Session = Type.Object({
  id: Type.String(),
  /** The newest position (0 when every message was purged or none was sent). */
  head: Type.Integer({ minimum: 0 }),
  /** Messages up to this position were purged by retention. */
  purged_through: Type.Integer({ minimum: 0 }),
  created_at: Timestamp,
  last_activity_at: Timestamp,
});
export type Session = Static<typeof Session>;

export const SessionsQuery = Type.Object({
  prefix: Type.Optional(Type.String({ maxLength: 128 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
});
export type SessionsQuery = Static<typeof SessionsQuery>;

export const SessionToken = Type.Object({
  token: Type.String(),
  expires_in: Type.Integer(),
});
export type SessionToken = Static<typeof SessionToken>;

/** A JSON Schema every message's `data` must match, for sessions whose name starts with `prefix`. */
export const ChannelSchema = Type.Object({
  prefix: Type.String(),
  schema: Type.Record(Type.String(), Type.Unknown()),
  created_at: Timestamp,
});
export type ChannelSchema = Static<typeof ChannelSchema>;

export const PrefixParams = Type.Object({ prefix: Type.String({ pattern: '^[A-Za-z0-9._:-]{0,128}$' }) });
export type PrefixParams = Static<typeof PrefixParams>;

/** A retention rule's prefix; `*` stands for the tenant-wide default ('' prefix). */
export const RetentionPrefixParams = Type.Object({ prefix: Type.String({ pattern: '^(\\*|[A-Za-z0-9._:-]{1,128})$' }) });
export type RetentionPrefixParams = Static<typeof RetentionPrefixParams>;

export const PutChannelSchema = Type.Object({ schema: Type.Record(Type.String(), Type.Unknown()) }, { additionalProperties: false });
export type PutChannelSchema = Static<typeof PutChannelSchema>;

/** How long messages of sessions under `prefix` are kept ('' = the tenant's default). */
export const Retention = Type.Object({
  prefix: Type.String(),
  max_age_sec: Type.Union([Type.Null(), Type.Integer({ minimum: 1 })]),
  max_messages: Type.Union([Type.Null(), Type.Integer({ minimum: 1 })]),
});
export type Retention = Static<typeof Retention>;

export const PutRetention = Type.Object(
  {
    max_age_sec: Type.Optional(Type.Union([Type.Null(), Type.Integer({ minimum: 1 })])),
    max_messages: Type.Optional(Type.Union([Type.Null(), Type.Integer({ minimum: 1 })])),
  },
  { additionalProperties: false },
);
export type PutRetention = Static<typeof PutRetention>;

/** The frames of the WebSocket at /api/v1/sessions/{sid}/ws (JSON text frames both ways). */
export type BusClientFrame = { op: 'send'; ref?: string; type?: string; data: unknown };
export type BusServerFrame =
  | { op: 'ready'; session_id: string; head: number; after: number }
  | { op: 'message'; message: BusMessage }
  | { op: 'ack'; ref?: string; messages: BusMessage[] }
  | { op: 'error'; ref?: string; status: number; code: string; detail: string; oldest_position?: number };
