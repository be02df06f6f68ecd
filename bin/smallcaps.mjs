// Renders a smallcaps capdata body (`#` + JSON, as @agoric/kmarshal writes vatParameters)
// for people: references show their slot's kref and interface, encoded scalars their value.

const renderString = (text, slots) => {
  const ref = /^\$(\d+)(?:\.(.*))?$/.exec(text);
  if (ref) {
    const [, index, iface] = ref;
    return `<${slots[Number(index)] ?? `slot ${index}?`}${iface ? ` ${iface.replace(/^Alleged: /, '')}` : ''}>`;
  }
  const promise = /^&(\d+)$/.exec(text);
  if (promise) return `<promise ${slots[Number(promise[1])] ?? `slot ${promise[1]}?`}>`;
  switch (text[0]) {
    case '#':
      return text.slice(1); // undefined, NaN, Infinity, -Infinity
    case '+':
    case '-':
      return `${text}n`;
    case '%':
      return `Symbol(${text.slice(1)})`;
    case '!':
      return JSON.stringify(text.slice(1));
    default:
      return JSON.stringify(text);
  }
};

const render = (value, slots, indent) => {
  if (typeof value === 'string') return renderString(value, slots);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[${value.map(v => render(v, slots, indent)).join(', ')}]`;
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    const inner = `${indent}  `;
    return `{\n${entries.map(([k, v]) => `${inner}${k}: ${render(v, slots, inner)}`).join(',\n')}\n${indent}}`;
  }
  return String(value);
};

/** A readable rendering of capdata `{ body, slots }`; non-smallcaps bodies are shown raw. */
export const renderCapData = ({ body, slots }, indent = '') => {
  if (!body.startsWith('#')) return body;
  try {
    return render(JSON.parse(body.slice(1)), slots, indent);
  } catch {
    return body;
  }
};
