/**
 * Errors the querier's storage layer raises, kept apart from the fan-out and decoding code so the
 * HTTP API can classify them without importing the WASM glue.
 */

/** Raised for data the engine cannot use yet, e.g. native-histogram or downsampled chunks. */
export class UnsupportedDataError extends Error {
  override name = "UnsupportedDataError";
}

/** Raised when stores fail and partial response is off. */
export class StoreQueryError extends Error {
  override name = "StoreQueryError";
}
