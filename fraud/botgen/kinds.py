"""Path functions for the Python bot kinds, and the registry that lists them.

- `minjerk`: minimum-jerk point-to-point movements (Flash & Hogan) along a slightly curved
  path, with position noise, a slow tremor, and sometimes an overshoot plus a corrective
  sub-movement.
- `bezier`: cubic Bézier paths with random control points, traversed with an easing curve,
  like ghost-cursor and most "human mouse" libraries.
- `humanised`: WindMouse (gravity + wind random walk, a popular "human-like" algorithm) and
  noisy Bézier paths with variable speed and overshoot.
"""

from __future__ import annotations

import math

import numpy as np

from fraud.botgen.session import FloatArray, Movement, PathFn, Profile, fitts_ms

_GRID = 200


def _minjerk_s(u: FloatArray) -> FloatArray:
    return 10 * u**3 - 15 * u**4 + 6 * u**5


def _perp(d: FloatArray) -> FloatArray:
    n = float(np.hypot(*d)) or 1.0
    return np.array([-d[1], d[0]]) / n


def _noise(
    rng: np.random.Generator, n: int, profile: Profile, duration: float
) -> tuple[FloatArray, FloatArray]:
    sigma = rng.uniform(*profile.noise_px)
    nx, ny = rng.normal(0, sigma, n), rng.normal(0, sigma, n)
    if rng.random() < 0.5:  # slow tremor, 6-12 Hz
        f = rng.uniform(6, 12)
        amp = rng.uniform(0.2, 1.5)
        tt = np.linspace(0, duration / 1000, n)
        ph = rng.uniform(0, 2 * math.pi, 2)
        nx += amp * np.sin(2 * math.pi * f * tt + ph[0])
        ny += amp * np.sin(2 * math.pi * f * tt + ph[1])
    return nx, ny


def _minjerk_segment(
    p0: FloatArray, p1: FloatArray, rng: np.random.Generator, bend: float
) -> tuple[FloatArray, FloatArray]:
    u = np.linspace(0, 1, _GRID)
    s = _minjerk_s(u)
    d = p1 - p0
    lateral = bend * float(np.hypot(*d)) * np.sin(math.pi * s)
    pts = p0[None, :] + s[:, None] * d[None, :] + lateral[:, None] * _perp(d)[None, :]
    return pts[:, 0], pts[:, 1]


def minjerk(p0: FloatArray, p1: FloatArray, rng: np.random.Generator, profile: Profile) -> Movement:
    dist = float(np.hypot(*(p1 - p0)))
    scale = rng.uniform(*profile.speed_scale)
    bend = rng.normal(0, 0.08)
    if rng.random() < 0.4 and dist > 80:
        over = p1 + (p1 - p0) / max(dist, 1) * dist * rng.uniform(0.03, 0.12) + rng.normal(0, 4, 2)
        x1, y1 = _minjerk_segment(p0, over, rng, bend)
        x2, y2 = _minjerk_segment(over, p1, rng, rng.normal(0, 0.1))
        d1 = fitts_ms(dist, rng, scale)
        d2 = rng.uniform(120, 300) * scale
        frac = d1 / (d1 + d2)
        u = np.concatenate((np.linspace(0, frac, _GRID), np.linspace(frac, 1, _GRID)[1:]))
        x, y = np.concatenate((x1, x2[1:])), np.concatenate((y1, y2[1:]))
        duration = d1 + d2
    else:
        x, y = _minjerk_segment(p0, p1, rng, bend)
        u = np.linspace(0, 1, _GRID)
        duration = fitts_ms(dist, rng, scale)
    nx, ny = _noise(rng, u.size, profile, duration)
    taper = np.sin(math.pi * u)  # noise fades at the endpoints
    return Movement(x + nx * taper, y + ny * taper, u, max(duration, 60.0))


def _bezier(
    p0: FloatArray, p1: FloatArray, rng: np.random.Generator, spread: float
) -> tuple[FloatArray, FloatArray]:
    d = p1 - p0
    n = _perp(d)
    c1 = p0 + d * rng.uniform(0.1, 0.5) + n * rng.normal(0, spread)
    c2 = p0 + d * rng.uniform(0.5, 0.9) + n * rng.normal(0, spread)
    s = np.linspace(0, 1, _GRID)[:, None]
    pts = (1 - s) ** 3 * p0 + 3 * (1 - s) ** 2 * s * c1 + 3 * (1 - s) * s**2 * c2 + s**3 * p1
    return pts[:, 0], pts[:, 1]


_EASINGS = {
    "linear": lambda u: u,
    "quad": lambda u: np.where(u < 0.5, 2 * u * u, 1 - (-2 * u + 2) ** 2 / 2),
    "cubic": lambda u: np.where(u < 0.5, 4 * u**3, 1 - (-2 * u + 2) ** 3 / 2),
    "sine": lambda u: -(np.cos(math.pi * u) - 1) / 2,
    "out_quad": lambda u: 1 - (1 - u) ** 2,
}


def bezier(p0: FloatArray, p1: FloatArray, rng: np.random.Generator, profile: Profile) -> Movement:
    dist = float(np.hypot(*(p1 - p0)))
    spread = min(max(dist * rng.uniform(0.05, 0.4), 2), 200)
    bx, by = _bezier(p0, p1, rng, spread)
    ease = _EASINGS[str(rng.choice(list(_EASINGS)))]
    # Position along the curve as a function of time: invert the easing on the grid.
    u = np.linspace(0, 1, _GRID)
    s = ease(u)
    x = np.asarray(np.interp(s, u, bx), dtype=np.float64)
    y = np.asarray(np.interp(s, u, by), dtype=np.float64)
    duration = fitts_ms(dist, rng, rng.uniform(*profile.speed_scale))
    return Movement(x, y, u, max(duration, 50.0))


def _windmouse(
    p0: FloatArray, p1: FloatArray, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    gravity, wind = rng.uniform(7, 11), rng.uniform(2, 5)
    max_step, target_area = rng.uniform(8, 18), rng.uniform(6, 14)
    pos = p0.astype(np.float64).copy()
    vel = np.zeros(2)
    w = np.zeros(2)
    xs, ys = [pos[0]], [pos[1]]
    for _ in range(2000):
        d = float(np.hypot(*(p1 - pos)))
        if d < 1:
            break
        wmag = min(wind, d)
        if d >= target_area:
            w = w / math.sqrt(3) + (rng.uniform(-1, 1, 2) * (2 * wmag + 1) - wmag) / math.sqrt(5)
        else:
            w = w / math.sqrt(3)
            max_step = (
                max(max_step / math.sqrt(3), 3 + rng.random() * 3)
                if max_step >= 3
                else rng.uniform(3, 6)
            )
        vel = vel + w + gravity * (p1 - pos) / d
        vmag = float(np.hypot(*vel))
        if vmag > max_step:
            clip = max_step / 2 + rng.random() * max_step / 2
            vel = vel / vmag * clip
        pos = pos + vel
        xs.append(pos[0])
        ys.append(pos[1])
    xs.append(p1[0])
    ys.append(p1[1])
    return np.array(xs), np.array(ys)


def humanised(
    p0: FloatArray, p1: FloatArray, rng: np.random.Generator, profile: Profile
) -> Movement:
    dist = float(np.hypot(*(p1 - p0)))
    if rng.random() < 0.5:
        x, y = _windmouse(p0, p1, rng)
        # WindMouse emits one point per tick; ticks are spread evenly in time.
        u = np.linspace(0, 1, x.size)
        duration = x.size * rng.uniform(5, 15) * rng.uniform(*profile.speed_scale)
        return Movement(x, y, u, max(duration, 60.0))
    over = dist > 300 and rng.random() < 0.6
    end = p1 + rng.normal(0, rng.uniform(20, 100), 2) if over else p1
    bx, by = _bezier(p0, end, rng, min(max(dist * rng.uniform(0.05, 0.5), 2), 250))
    if over:
        cx, cy = _bezier(end, p1, rng, 10)
        bx, by = np.concatenate((bx, cx[1:])), np.concatenate((by, cy[1:]))
    u = np.linspace(0, 1, bx.size)
    # Variable speed: a random smooth speed profile instead of a fixed easing.
    weights = np.abs(np.cumsum(rng.normal(0, 1, bx.size)) * 0.2 + np.sin(math.pi * u) + 0.2)
    s = np.concatenate(([0.0], np.cumsum(weights[1:])))
    s /= s[-1]
    x, y = np.interp(s, u, bx), np.interp(s, u, by)
    duration = fitts_ms(dist, rng, rng.uniform(*profile.speed_scale)) * (1.4 if over else 1.0)
    nx, ny = _noise(rng, u.size, profile, duration)
    return Movement(x + nx, y + ny, u, max(duration, 60.0))


BOT_KINDS: dict[str, PathFn] = {"minjerk": minjerk, "bezier": bezier, "humanised": humanised}
