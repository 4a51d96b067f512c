/** Encoding of the remote-read request: a `prometheus.ReadRequest`, snappy block-compressed. */
import { create, toBinary } from "@bufbuild/protobuf";
import { compress } from "snappyjs";
import { ReadRequest_ResponseType, ReadRequestSchema, QuerySchema } from "../gen/prompb/remote_pb.ts";
import { LabelMatcher_Type, LabelMatcherSchema } from "../gen/prompb/types_pb.ts";
import type { Matcher } from "../model/matcher.ts";

/** One remote-read query; times are ms, inclusive. */
export interface RemoteReadQuery {
  readonly start: number;
  readonly end: number;
  readonly matchers: readonly Matcher[];
}

const MATCH_TYPES: Record<Matcher["type"], LabelMatcher_Type> = {
  "=": LabelMatcher_Type.EQ,
  "!=": LabelMatcher_Type.NEQ,
  "=~": LabelMatcher_Type.RE,
  "!~": LabelMatcher_Type.NRE,
};

/** Builds the snappy-block-compressed ReadRequest body. No hints: Prometheus would take their range. */
export function encodeReadRequest(queries: readonly RemoteReadQuery[], types: readonly ReadRequest_ResponseType[]): Uint8Array {
  const req = create(ReadRequestSchema, {
    queries: queries.map((q) =>
      create(QuerySchema, {
        startTimestampMs: BigInt(Math.trunc(q.start)),
        endTimestampMs: BigInt(Math.trunc(q.end)),
        matchers: q.matchers.map((m) => create(LabelMatcherSchema, { type: MATCH_TYPES[m.type], name: m.name, value: m.value })),
      }),
    ),
    acceptedResponseTypes: [...types],
  });
  return compress(toBinary(ReadRequestSchema, req));
}
