/** One storyboard cue: a time range and the tile of the sprite sheet that shows it (#xywh). */
export interface StoryboardCue {
  start: number;
  end: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

const time = (text: string): number => {
  const parts = text.trim().split(":").map(Number);
  return parts.reduce((sum, part) => sum * 60 + part, 0);
};

export interface Storyboard {
  /** The sprite sheet's path, relative to the storyboard (as the cues name it). */
  image: string | null;
  cues: StoryboardCue[];
}

/** Parses the engine's WebVTT storyboard (`start --> end` then `thumb-sprite.jpg#xywh=x,y,w,h`). */
export function parseStoryboard(vtt: string): Storyboard {
  const cues: StoryboardCue[] = [];
  let image: string | null = null;
  const lines = vtt.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const timing = lines[i]?.match(/^([\d:.]+)\s+-->\s+([\d:.]+)/);
    const target = lines[i + 1]?.match(/^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)/);
    if (!timing?.[1] || !timing[2] || !target) continue;
    image ??= target[1] ?? null;
    const [x, y, w, h] = target.slice(2, 6).map(Number) as [number, number, number, number];
    cues.push({ start: time(timing[1]), end: time(timing[2]), x, y, w, h });
  }
  return { image, cues };
}
