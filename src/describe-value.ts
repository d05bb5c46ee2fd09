/**
 * A short, safe description of a value a caller passed, for error messages: never throws (a null-prototype
 * object or a symbol cannot be turned into a string by a template literal) and never prints a whole object.
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `"${value.length > 80 ? `${value.slice(0, 80)}…` : value}"`;
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return String(value);
    case 'object':
      return value instanceof Date
        ? Number.isNaN(value.getTime())
          ? 'an invalid Date'
          : 'a Date'
        : 'an object';
    default:
      return typeof value;
  }
}
