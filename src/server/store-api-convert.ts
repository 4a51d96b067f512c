/**
 * Conversions between the generated StoreAPI messages and Meridian's shared model (labels,
 * matchers). Bad input from the wire (unknown matcher type, invalid regex) becomes a Connect
 * `InvalidArgument` error, as Thanos answers with gRPC InvalidArgument.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { Label as ProtoLabel } from "../gen/store/labelpb/types_pb.ts";
import { LabelMatcher_Type } from "../gen/store/storepb/types_pb.ts";
import type { LabelMatcher } from "../gen/store/storepb/types_pb.ts";
import { compareStrings, normalizeLabels } from "../model/labels.ts";
import type { Labels } from "../model/labels.ts";
import { createMatcher, MatcherError } from "../model/matcher.ts";
import type { Matcher, MatchType } from "../model/matcher.ts";

const TYPE_FROM_PROTO: Record<number, MatchType> = {
  [LabelMatcher_Type.EQ]: "=",
  [LabelMatcher_Type.NEQ]: "!=",
  [LabelMatcher_Type.RE]: "=~",
  [LabelMatcher_Type.NRE]: "!~",
};

const TYPE_TO_PROTO: Record<MatchType, LabelMatcher_Type> = {
  "=": LabelMatcher_Type.EQ,
  "!=": LabelMatcher_Type.NEQ,
  "=~": LabelMatcher_Type.RE,
  "!~": LabelMatcher_Type.NRE,
};

/**
 * Compiles wire matchers. Throws `ConnectError(InvalidArgument)` for an unknown type or a regex
 * that does not compile, naming the matcher.
 */
export function matchersFromProto(matchers: readonly LabelMatcher[]): Matcher[] {
  return matchers.map((m) => {
    const type = TYPE_FROM_PROTO[m.type];
    if (type === undefined) {
      throw new ConnectError(`unknown matcher type ${m.type} for label ${JSON.stringify(m.name)}`, Code.InvalidArgument);
    }
    try {
      return createMatcher(type, m.name, m.value);
    } catch (err) {
      if (err instanceof MatcherError) {
        throw new ConnectError(`bad matcher ${m.name}${type}${JSON.stringify(m.value)}: ${err.message}`, Code.InvalidArgument);
      }
      throw err;
    }
  });
}

/** Converts matchers to their wire form (for clients sending a SeriesRequest). */
export function matchersToProto(matchers: readonly Pick<Matcher, "type" | "name" | "value">[]): LabelMatcher[] {
  return matchers.map((m) => ({ $typeName: "thanos.LabelMatcher", type: TYPE_TO_PROTO[m.type], name: m.name, value: m.value }));
}

/** Converts a label set to wire labels (built as plain message objects; no copying of strings). */
export function labelsToProto(labels: Labels): ProtoLabel[] {
  return labels.map((l) => ({ $typeName: "thanos.Label", name: l.name, value: l.value }));
}

/**
 * Converts wire labels to a model label set. Stores send labels sorted by name (StoreAPI contract);
 * the common sorted case is returned without copying, anything else is sorted so the model invariant
 * holds even for misbehaving peers.
 */
export function labelsFromProto(labels: readonly ProtoLabel[]): Labels {
  for (let i = 1; i < labels.length; i++) {
    if (compareStrings(labels[i - 1]!.name, labels[i]!.name) >= 0) return normalizeLabels(labels.map((l) => ({ name: l.name, value: l.value })));
  }
  return labels;
}
