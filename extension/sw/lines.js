// The line-delta encoding of a snapshot site's stream text (content/capture-hook.js, "line-delta
// encoding"), decoded before the core reads the stream. A site whose frames are snapshots sends
// each line again with a little more in it; the page hands over only what is new, as ops:
// `=<n>,<n units>` literal text, `<<n>,` n units of `ref` (the latest complete line of MIN_LINE
// units or more) from the current line's offset on, `><n>,` the last n units of `ref`. Lengths
// count UTF-16 units. The line state is the capture hook's, fed with the decoded text.
const MIN_LINE = 64;
// The most text one stream decodes to (UTF-16 units): what the capture hook hands over of a stream
// at most. Ops copy from `ref`, so a few forged bytes could otherwise stand for gigabytes.
const MAX_TEXT = 32 << 20;

/** A decoder for one stream: `decode(ops)` gives the text; throws on ops that do not fit. */
export function lineDecoder() {
  let cur = ''; // the line so far (no '\n' yet)
  let ref = ''; // the latest complete line of MIN_LINE units or more
  let total = 0; // units decoded so far
  const feed = (piece) => {
    const k = piece.lastIndexOf('\n');
    if (k < 0) {
      cur += piece;
      return;
    }
    for (let end = k; ;) {
      const nl = end > 0 ? piece.lastIndexOf('\n', end - 1) : -1;
      if (nl < 0) {
        if (cur.length + end >= MIN_LINE) ref = cur + piece.slice(0, end);
        break;
      }
      if (end - nl - 1 >= MIN_LINE) {
        ref = piece.slice(nl + 1, end);
        break;
      }
      end = nl;
    }
    cur = piece.slice(k + 1);
  };
  return {
    decode(ops) {
      const out = [];
      for (let i = 0; i < ops.length;) {
        const op = ops[i];
        const comma = ops.indexOf(',', i + 1);
        const digits = comma < 0 ? '' : ops.slice(i + 1, comma);
        if (!/^\d{1,9}$/.test(digits)) throw new Error('malformed line-delta ops');
        const n = Number(digits);
        let piece;
        if (op === '=' && comma + 1 + n <= ops.length) {
          piece = ops.slice(comma + 1, comma + 1 + n);
          i = comma + 1 + n;
        } else if (op === '<' && cur.length + n <= ref.length) {
          piece = ref.slice(cur.length, cur.length + n);
          i = comma + 1;
        } else if (op === '>' && n <= ref.length) {
          piece = ref.slice(ref.length - n);
          i = comma + 1;
        } else {
          throw new Error('malformed line-delta ops');
        }
        total += piece.length;
        if (total > MAX_TEXT) throw new Error('line-delta ops decode to more than a stream may carry');
        feed(piece);
        out.push(piece);
      }
      return out.join('');
    },
  };
}
