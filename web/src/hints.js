// User colour hints in the page: the JSON format of tfcolor.core.hints, checked as Python checks
// it, and the hint channels a hint generator reads, built as tfcolor.core.hints.points_to_channels
// builds them (the same pixels and colours: tests/test_web.py compares them).
//
//   {"points": [{"x": 412, "y": 230, "color": "#4a7fb5", "radius": 2}]}
//
// x, y: pixels of the photo as displayed (EXIF rotation applied), origin top left; color: #rrggbb
// or #rgb; radius (optional, px): the square of pixels within it. A hint sets a*b* only.

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
  if (hints.reference) throw new HintError(`${source}: reference photos are not supported yet; give points`);
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

/** Points -> the JSON object of the format (for saving). */
export function toJson(points) {
  return { points: points.map(({ x, y, radius, color }) => (radius ? { x, y, color, radius } : { x, y, color })) };
}

/** Hint channels [S*S*3] (a/110, b/110, mask; row-major) of `points` on a photo of height x
 * width seen at size x size: points_to_channels. `lab.abOfBytes` gives a point's a*b*. */
export function hintChannels(points, height, width, size, lab, abScale) {
  const count = new Float32Array(size * size);
  const sums = new Float32Array(size * size * 2);
  const sy = size / height;
  const sx = size / width;
  const span = (centre, half) => {
    const low = Math.min(Math.max(Math.floor(centre - half), 0), size - 1);
    const high = Math.min(Math.max(Math.floor(centre + half) + 1, low + 1), size);
    return [low, high];
  };
  for (const p of points) {
    const [top, bottom] = span(p.y * sy, p.radius * sy);
    const [left, right] = span(p.x * sx, p.radius * sx);
    const [a, b] = lab.abOfBytes(...p.rgb);
    for (let y = top; y < bottom; y++) {
      for (let x = left; x < right; x++) {
        const i = y * size + x;
        count[i] += 1;
        sums[2 * i] += a / abScale;
        sums[2 * i + 1] += b / abScale;
      }
    }
  }
  const out = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    if (count[i] > 0) {
      out[3 * i] = sums[2 * i] / count[i];
      out[3 * i + 1] = sums[2 * i + 1] / count[i];
      out[3 * i + 2] = 1;
    }
  }
  return out;
}
