// The Painter's worker (paint.js): paints the lower rows of a large photo on a second core.
// Messages: {kind: "constants"} (tfcolor.json's colour constants), {kind: "photo"} (the L and
// alpha of its rows, once per photo), {kind: "paint", id, ...} -> {id, bytes} or {id, error}.

import { makeLab } from "./lab.js";
import { paintRows } from "./paint.js";

let lab = null;
let photo = null;

self.onmessage = async ({ data }) => {
  if (data.kind === "constants") {
    lab = makeLab(data.constants);
  } else if (data.kind === "photo") {
    photo = data;
  } else if (data.kind === "paint") {
    try {
      const { ab, abH, abW, height, y0 } = data;
      const { width, l, alpha, from } = photo;
      if (from !== y0) throw new Error(`rows from ${y0} asked, rows from ${from} held`);
      const bytes = new Uint8ClampedArray((height - y0) * width * 4);
      await paintRows(lab, ab, abH, abW, l, alpha, width, height, y0, height, bytes, from);
      self.postMessage({ id: data.id, bytes }, [bytes.buffer]);
    } catch (e) {
      self.postMessage({ id: data.id, error: String(e && e.message ? e.message : e) });
    }
  }
};
