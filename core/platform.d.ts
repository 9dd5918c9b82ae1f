/**
 * The platform globals core/ may use: those that page, service worker and
 * Node (>= 20) all have. Only core/tsconfig.json sees this file; the page,
 * worker and server builds get the same names from their own lib types.
 */
declare class TextEncoder {
  encode(input?: string): Uint8Array<ArrayBuffer>;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: ArrayBufferView | ArrayBuffer): string;
}
declare const crypto: {
  readonly subtle: { digest(algorithm: 'SHA-256', data: ArrayBufferView | ArrayBuffer): Promise<ArrayBuffer> };
};
