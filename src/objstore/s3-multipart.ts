/**
 * Uploads of large or streamed objects to S3 in parts, so shipping a 512 MiB chunk segment holds
 * one part in memory instead of the whole file. Small bodies go up in one PutObject. Each part is
 * retried on its own; a failed upload is aborted so no orphaned parts are billed.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";

/** S3's smallest part size (except the last part). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

/** Runs one S3 request with retries (the bucket's `call`). */
export type S3Call = <T>(op: string, name: string, fn: (signal: AbortSignal) => Promise<T>) => Promise<T>;

/** Yields `body` as parts of exactly `partSize` bytes (the last one shorter). */
async function* parts(body: Uint8Array | ReadableStream<Uint8Array>, partSize: number): AsyncGenerator<Uint8Array> {
  if (body instanceof Uint8Array) {
    for (let off = 0; off < body.length || off === 0; off += partSize) {
      yield body.subarray(off, Math.min(body.length, off + partSize));
      if (body.length === 0) return;
    }
    return;
  }
  const reader = body.getReader();
  let buf = new Uint8Array(partSize);
  let fill = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let pos = 0;
      while (pos < value.length) {
        const n = Math.min(partSize - fill, value.length - pos);
        buf.set(value.subarray(pos, pos + n), fill);
        fill += n;
        pos += n;
        if (fill === partSize) {
          yield buf;
          buf = new Uint8Array(partSize);
          fill = 0;
        }
      }
    }
  } finally {
    reader.releaseLock();
  }
  if (fill > 0) yield buf.subarray(0, fill);
}

/** Uploads `body` as `key`: one PutObject when it fits in one part, multipart otherwise. */
export async function uploadObject(client: S3Client, call: S3Call, bucket: string, key: string, body: Uint8Array | ReadableStream<Uint8Array>, partSize: number): Promise<void> {
  const size = Math.max(MIN_PART_SIZE, partSize);
  const it = parts(body, size);
  const first = await it.next();
  const firstPart = first.done ? new Uint8Array(0) : first.value;
  const second = first.done ? { done: true as const, value: undefined } : await it.next();
  if (second.done) {
    await call("upload", key, (s) => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: firstPart, ContentLength: firstPart.length }), { abortSignal: s }));
    return;
  }
  const created = await call("upload", key, (s) => client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }), { abortSignal: s }));
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error(`s3://${bucket}: upload ${key}: no UploadId in CreateMultipartUpload response`);
  const done: { ETag: string; PartNumber: number }[] = [];
  try {
    const send = async (part: Uint8Array) => {
      const PartNumber = done.length + 1;
      const out = await call("upload", `${key} part ${PartNumber}`, (s) =>
        client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber, Body: part, ContentLength: part.length }), { abortSignal: s }),
      );
      done.push({ ETag: out.ETag ?? "", PartNumber });
    };
    await send(firstPart);
    await send(second.value);
    for await (const part of it) await send(part);
    await call("upload", key, (s) =>
      client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: done } }), { abortSignal: s }),
    );
  } catch (err) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
    throw err;
  }
}
