// The failure converter of every worker, client and workflow sandbox of the project (see
// FAILURE_CONVERTER_PATH in codec.ts). Temporal's default converter with `encodeCommonAttributes`:
// a failure's message and stack trace travel as an encoded payload (encrypted by the payload
// codec), and history keeps only "Encoded failure". Failures written before it read unchanged.
import * as common from '@temporalio/common';

// Node's ESM loader, tsx and webpack (the workflow bundle) each present this CommonJS package
// differently: its exports directly, or as the default export.
const { DefaultFailureConverter } = common.DefaultFailureConverter ? common : common.default;

/**
 * A process without the codec (a tool, a test's plain client) cannot decrypt a failure's words:
 * it reads the failure as "Encoded failure" with its type, as Temporal's CLI and Web UI do,
 * instead of failing to read it at all.
 */
class EncodedFailureConverter extends DefaultFailureConverter {
  failureToError(failure, payloadConverter, context) {
    try {
      return super.failureToError(failure, payloadConverter, context);
    } catch (err) {
      if (!failure.encodedAttributes) throw err;
      return super.failureToError({ ...failure, encodedAttributes: undefined }, payloadConverter, context);
    }
  }
}

export const failureConverter = new EncodedFailureConverter({ encodeCommonAttributes: true });
