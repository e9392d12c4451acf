/**
 * The report's series colours: each service (or field) its own, however many. The first eight are
 * the classic chart palette; each further one is, of a set of candidates readable on white, the one
 * farthest (in CIELAB, the distance the eye sees) from every colour already given. Was: hues a golden
 * angle apart after the eight, whose 13th (`hsl(210,64%,47%)`) was next to the 1st (`#1f77b4`).
 * The 20 first are at least 27 ΔE apart (the eight's own closest pair), 30 at least 22.
 */
export const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
];

type Rgb = [number, number, number];
type Lab = [number, number, number];

function hslToRgb(hue: number, s: number, l: number): Rgb {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + hue / 30) % 12;
    return l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
  };
  return [f(0), f(8), f(4)];
}

const hexToRgb = (hex: string): Rgb => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255) as Rgb;

const toHex = (rgb: Rgb) =>
  `#${rgb
    .map((c) =>
      Math.round(c * 255)
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;

/** sRGB (0–1) to CIELAB under D65. */
function toLab([r, g, b]: Rgb): Lab {
  const lin = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  const [R, G, B] = [lin(r), lin(g), lin(b)];
  const x = (0.4124 * R + 0.3576 * G + 0.1805 * B) / 0.95047;
  const y = 0.2126 * R + 0.7152 * G + 0.0722 * B;
  const z = (0.0193 * R + 0.1192 * G + 0.9505 * B) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

const distance = (a: Lab, b: Lab) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

interface Candidate {
  hex: string;
  lab: Lab;
  /** Its distance to the nearest colour given so far. */
  nearest: number;
}

/** The colours given so far, and the candidates left, made on first use beyond the eight. */
let given: string[] | undefined;
let candidates: Candidate[] = [];

function extend(): void {
  if (!given) {
    given = [...PALETTE];
    const labs = PALETTE.map((hex) => toLab(hexToRgb(hex)));
    // Hues 5° apart, two saturations, four lightnesses; too light (L* > 70) or too dark (< 30) to
    // read as a line on white are left out.
    for (let hue = 0; hue < 360; hue += 5)
      for (const s of [0.8, 0.55])
        for (const l of [0.3, 0.4, 0.5, 0.6]) {
          const rgb = hslToRgb(hue, s, l);
          const lab = toLab(rgb);
          if (lab[0] < 30 || lab[0] > 70) continue;
          candidates.push({ hex: toHex(rgb), lab, nearest: Math.min(...labs.map((p) => distance(p, lab))) });
        }
  }
  let best = candidates[0];
  for (const c of candidates) if (best && c.nearest > best.nearest) best = c;
  if (!best) {
    // Past the candidates (hundreds of series): still a colour of its own, a golden angle on.
    given.push(`hsl(${((given.length * 137.508) % 360).toFixed(1)},60%,45%)`);
    return;
  }
  given.push(best.hex);
  candidates = candidates.filter((c) => c !== best);
  for (const c of candidates) c.nearest = Math.min(c.nearest, distance(c.lab, best.lab));
}

/** Series `i`'s colour (a CSS colour), the same in every chart of a report. */
export function colorOf(i: number): string {
  if (i < PALETTE.length) return PALETTE[i] as string;
  while ((given?.length ?? 0) <= i) extend();
  return (given as string[])[i] as string;
}
