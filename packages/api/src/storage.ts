import { type Static, Type } from '@sinclair/typebox';

/** Atriumn storage service (camelCase JSON): pre-signed upload and download URLs. */
export const GenerateUploadUrlRequest = Type.Object({
  filename: Type.String({ minLength: 1, maxLength: 255 }),
  contentType: Type.String({ minLength: 1, maxLength: 255 }),
  tenantId: Type.Optional(Type.String({ maxLength: 128 })),
});
export type GenerateUploadUrlRequest = Static<typeof GenerateUploadUrlRequest>;

export const GenerateUploadUrlResponse = Type.Object({
  uploadUrl: Type.String(),
  s3Key: Type.String({ description: '`<tenant>/<random id>/<sanitized filename>`' }),
  httpMethod: Type.Literal('PUT'),
  expiresIn: Type.Optional(Type.Integer({ description: 'Seconds the URL stays valid' })),
});
export type GenerateUploadUrlResponse = Static<typeof GenerateUploadUrlResponse>;

export const GenerateDownloadUrlRequest = Type.Object({
  s3Key: Type.String({ minLength: 1, maxLength: 1024 }),
  tenantId: Type.Optional(Type.String({ maxLength: 128 })),
});
export type GenerateDownloadUrlRequest = Static<typeof GenerateDownloadUrlRequest>;

export const GenerateDownloadUrlResponse = Type.Object({
  downloadUrl: Type.String(),
  httpMethod: Type.Literal('GET'),
  expiresIn: Type.Optional(Type.Integer()),
});
export type GenerateDownloadUrlResponse = Static<typeof GenerateDownloadUrlResponse>;

/** The local store's pre-signed blob URLs (`/blobs/<key>?expires=…&signature=…`). */
export const BlobParams = Type.Object({ '*': Type.String() });
export type BlobParams = Static<typeof BlobParams>;

export const BlobQuery = Type.Object({ expires: Type.Optional(Type.String()), signature: Type.Optional(Type.String()) });
export type BlobQuery = Static<typeof BlobQuery>;
