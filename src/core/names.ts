/**
 * What a name — of a site, an asset, a cable, an organisation, a user, an API token — may hold:
 * at least one character that is not white space, and no control character (C0, DEL or C1:
 * U+0000–U+001F, U+007F–U+009F), which would corrupt the console, CSV exports and the logs of
 * whoever reads them.
 *
 * @example
 * new RegExp(NAME_PATTERN).test('Boiler room 2'); // true
 * new RegExp(NAME_PATTERN).test('a\u009bb'); // false
 */
export const NAME_PATTERN = '^(?=[\\s\\S]*\\S)[^\\u0000-\\u001f\\u007f-\\u009f]*$';
