// fastly-js 13 ships no type declarations; the conformance test uses it as an untyped client.
declare module 'fastly';
