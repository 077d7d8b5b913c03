/**
 * HTTP header fields as the public API carries them: an ordered list of [name, value] pairs.
 * Names compare case-insensitively; values are ISO-8859-1 strings as on the wire (each char
 * one byte), so no information is lost between bytes and strings.
 */
export type Headers = Array<[name: string, value: string]>;
