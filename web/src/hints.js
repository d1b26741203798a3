// User colour hints in the page: the JSON format of tfcolor.core.hints, checked as Python checks
// it, and the hint channels a hint generator reads, built as tfcolor.core.hints.points_to_channels
// builds them (the same pixels and colours: tests/test_web.py compares them).
//
//   {"points": [{"x": 412, "y": 230, "color": "#4a7fb5", "radius": 2}]}
//
// x, y: pixels of the photo as displayed (EXIF rotation applied), origin top left; color: #rrggbb
// or #rgb; radius (optional, px): the square of pixels within it. A hint sets a*b* only.
// "reference" (optional): a photo whose colours the result takes (in the page a File or Blob, or
// a URL the page can fetch; in a saved file its name, for colorize --hints beside it).

export class HintError extends Error {}

/** "#rrggbb" / "#rgb" -> [r, g, b]; HintError naming `where`. */
export function parseColor(text, where = "color") {
  let value = typeof text === "string" ? text.trim().replace(/^#/, "") : "";
  if (value.length === 3) value = [...value].map((c) => c + c).join("");
  if (!/^[0-9a-fA-F]{6}$/.test(value)) {
    throw new HintError(`${where}: ${JSON.stringify(text)} is not a colour; use #rrggbb, e.g. "#4a7fb5"`);
  }
  return [0, 2, 4].map((i) => parseInt(value.slice(i, i + 2), 16));
}

export const toHex = ([r, g, b]) => "#" + [r, g, b].map((v) => v.toString(16).padStart(2, "0")).join("");

/** A hints object (the JSON above) -> [{x, y, radius, rgb, color}], checked against a photo of
 * width x height; HintError says what is wrong. */
export function parseHints(hints, width, height, source = "hints") {
  if (hints === null || typeof hints !== "object" || Array.isArray(hints)) {
    throw new HintError(`${source}: expected an object with "points"`);
  }
  const unknown = Object.keys(hints).filter((k) => k !== "points" && k !== "reference");
  if (unknown.length) throw new HintError(`${source}: unknown key(s) ${unknown.sort().join(", ")}`);
  const points = hints.points ?? [];
  if (!Array.isArray(points)) throw new HintError(`${source}: "points" must be a list`);
  return points.map((p, i) => {
    const where = `${source}: point ${i + 1}`;
    if (p === null || typeof p !== "object") throw new HintError(`${where}: expected {"x", "y", "color"}`);
    for (const key of ["x", "y", "radius"]) {
      const value = p[key] ?? (key === "radius" ? 0 : undefined);
      if (typeof value !== "number" || !Number.isFinite(value)) {
        throw new HintError(`${where}: "${key}" must be a number, got ${JSON.stringify(p[key])}`);
      }
    }
    const radius = p.radius ?? 0;
    if (radius < 0) throw new HintError(`${where}: "radius" must be >= 0`);
    if (!(p.x >= 0 && p.x <= width && p.y >= 0 && p.y <= height)) {
      throw new HintError(`${where} at (${p.x}, ${p.y}) is outside the ${width}x${height} photo`);
    }
    const rgb = parseColor(p.color, where);
    return { x: p.x, y: p.y, radius, rgb, color: toHex(rgb) };
  });
}

/** A hints object's reference photo: null, a File or Blob, or a URL the page can fetch (a path
 * relative to the page); HintError for anything else. */
export function referenceOf(hints, source = "hints") {
  const reference = hints && typeof hints === "object" ? hints.reference ?? null : null;
  if (reference === null || reference === "" || typeof reference === "string" || reference instanceof Blob) {
    return reference || null;
  }
  throw new HintError(`${source}: "reference" must be a photo (a File or Blob) or its URL`);
}

/** Points (and the reference photo's file name) -> the JSON object of the format (for saving). */
export function toJson(points, reference = null) {
  const json = { points: points.map(({ x, y, radius, color }) => (radius ? { x, y, color, radius } : { x, y, color })) };
  if (reference) json.reference = reference;
  return json;
}

/** hint_map: the hints of `points` on a photo of height x width, rasterised at outH x outW:
 * {ab: normalised a*b* [outH*outW*2] (a/abScale, b/abScale; 0 where no hint), mask: [outH*outW]
 * 1 on hinted pixels}. `lab.abOfBytes` gives a point's a*b*. */
export function hintMap(points, height, width, outH, outW, lab, abScale) {
  const count = new Float32Array(outH * outW);
  const sums = new Float32Array(outH * outW * 2);
  const sy = outH / height;
  const sx = outW / width;
  const span = (centre, half, size) => {
    const low = Math.min(Math.max(Math.floor(centre - half), 0), size - 1);
    const high = Math.min(Math.max(Math.floor(centre + half) + 1, low + 1), size);
    return [low, high];
  };
  for (const p of points) {
    const [top, bottom] = span(p.y * sy, p.radius * sy, outH);
    const [left, right] = span(p.x * sx, p.radius * sx, outW);
    const [a, b] = lab.abOfBytes(...p.rgb);
    for (let y = top; y < bottom; y++) {
      for (let x = left; x < right; x++) {
        const i = y * outW + x;
        count[i] += 1;
        sums[2 * i] += a / abScale;
        sums[2 * i + 1] += b / abScale;
      }
    }
  }
  const ab = new Float32Array(outH * outW * 2);
  const mask = new Uint8Array(outH * outW);
  for (let i = 0; i < outH * outW; i++) {
    if (count[i] > 0) {
      ab[2 * i] = sums[2 * i] / count[i];
      ab[2 * i + 1] = sums[2 * i + 1] / count[i];
      mask[i] = 1;
    }
  }
  return { ab, mask };
}

/** Hint channels [S*S*3] (a/110, b/110, mask; row-major) of `points` on a photo of height x
 * width seen at size x size: points_to_channels. */
export function hintChannels(points, height, width, size, lab, abScale) {
  const { ab, mask } = hintMap(points, height, width, size, size, lab, abScale);
  const out = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    out[3 * i] = ab[2 * i];
    out[3 * i + 1] = ab[2 * i + 1];
    out[3 * i + 2] = mask[i];
  }
  return out;
}
