"""The default annealer's inner loop: a compiled (numba) kernel and its NumPy twin.

Both compute the same thing from the same random numbers; the NumPy twin is the readable
reference (and the fallback where numba cannot be imported), the kernel is what runs.

**The anneal of one read** (one row of a batch, problem ``p``), on the block K(a, b) with
couplings ``J`` (b, a)::

    high <- the start state (given, or random)          low <- 0
    for each sweep s:   low  <- heat-bath(f_low  = h_low[p]  + J^T high, x = beta2[p, s] f_low)
                        high <- heat-bath(f_high = h_high[p] + J low,    x = beta2[p, s] f_high)
    then zero-temperature passes: low <- sign(f_low), high <- sign(f_high) until nothing changes

A heat-bath move sets a spin to +1 with probability ``sigmoid(x) = (1 + tanh(x / 2)) / 2``,
i.e. to ``+1`` iff ``x + L > 0`` with ``L`` logistic noise. ``L`` comes from a table of the
logistic quantiles at 2**16 midpoints (``LOGIT``), indexed by 16 random bits: one comparison
per spin, no transcendental function (the probability is exact to 2**-17).

**Random numbers** are counter-based: the 64-bit SplitMix64 finaliser of ``row key + counter
* golden``, where the row key mixes the call's seed with the row index and the counter names
the half-sweep and a group of four spins; one 64-bit hash gives the 16 bits of four spins. So
a read's numbers depend only on (seed, row, half-sweep, spin): rows run in any order on any
number of threads and give the same samples, and the kernel and the NumPy twin agree.

**Threads and compile time.** The kernel is a numba ``parallel=True`` loop over rows. Besides
threads, that buys speed on one core: numba compiles the loop body with its arrays marked as
not aliasing each other, which lets LLVM vectorise the field updates (the same code as a plain
serial function runs twice as slow). The price is the first compilation on a fresh machine,
~17 s (a serial function: ~5 s); numba caches the machine code on disk (``cache=True``), and
later processes load it in well under a second.

**Fields are kept, not recomputed**: the kernel updates ``f_high += (new - old) J[:, i]`` for
each low spin ``i`` that changed (and likewise the other way), so a half-sweep costs one
comparison per spin plus ``b`` (or ``a``) multiply-adds per *flip*. Cold anneals (reference
starts, late sweeps) flip few spins. The twin recomputes fields by one matrix product per
half-sweep; on problems whose sums are exact in float32 both give identical samples (tested),
otherwise they differ by float rounding only.
"""

from __future__ import annotations

import numpy as np

#: SplitMix64 constants
GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_MASK = (1 << 64) - 1
#: float32 lanes of a vector register: fields and couplings are padded to whole lanes
LANES = 16
#: bits of logistic-noise resolution (table size 2**BITS)
BITS = 16


def _logit_table() -> np.ndarray:
    u = (np.arange(2 ** BITS, dtype=np.float64) + 0.5) / 2 ** BITS
    return np.log(u / (1 - u)).astype(np.float32)


#: logistic quantiles at the midpoints of 2**16 equal bins: ``L = LOGIT[random 16 bits]``
LOGIT = _logit_table()


def mix64_int(z: int) -> int:
    """SplitMix64's finaliser on a Python int (mod 2**64)."""
    z &= _MASK
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def call_key(seed: int) -> int:
    """The 64-bit key of one sampler call from its seed."""
    return mix64_int(int(seed) + GOLDEN)


def padded(J: np.ndarray) -> np.ndarray:
    """``J`` with zero columns appended to a multiple of :data:`LANES` columns."""
    rows, cols = J.shape
    out = np.zeros((rows, -(-cols // LANES) * LANES), np.float32)
    out[:, :cols] = J
    return out


def group_stride(a: int, b: int) -> int:
    """Counters per half-sweep: groups of four spins on the wider side."""
    return max((a + 3) // 4, (b + 3) // 4)


# ---- the NumPy twin ------------------------------------------------------------------------
def _mix64(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


def row_keys(key: int, rows: int) -> np.ndarray:
    """``(rows,)`` uint64 keys: ``mix64(key ^ r * golden)``."""
    r = np.arange(rows, dtype=np.uint64)
    return _mix64(np.uint64(key) ^ (r * np.uint64(GOLDEN)))


def noise(keys: np.ndarray, t: int, stride: int, width: int) -> np.ndarray:
    """``(rows, width)`` logistic noise of half-sweep ``t`` for the spins ``0..width-1``."""
    groups = np.arange((width + 3) // 4, dtype=np.uint64)
    counters = (np.uint64(t * stride) + groups) * np.uint64(GOLDEN)
    h = _mix64(keys[:, None] + counters[None, :])
    lanes = np.arange(4, dtype=np.uint64) * np.uint64(16)
    idx = (h[:, :, None] >> lanes) & np.uint64(0xFFFF)
    return LOGIT[idx.reshape(len(keys), -1)[:, :width]]


def _decide(fields, beta, keys, t, stride, table, out):
    """NumPy's heat-bath decisions of whole sides (the twin of ``heat_bath_rows``):
    ``out[r, i] = +1`` iff ``beta[r] * fields[r, i] + L > 0``."""
    x = beta[:, None] * fields
    out[...] = np.where(x + noise(keys, t, stride, fields.shape[1]) > 0, np.float32(1),
                        np.float32(-1))


def anneal_numpy(J, h_low, h_high, beta2, reads, key, high, max_passes, exact_low=False,
                 decide=None):
    """The NumPy twin of :func:`anneal`: same arguments, returns ``(low, high, passes)``.

    ``high`` ``(N, b)`` start states with N = P * reads, or None for random starts;
    ``exact_low``: the low side is set to the sign of its field in every sweep (only the high
    side is heat-bath); ``decide``: the heat-bath decisions of a whole side, NumPy's
    (None) or the compiled ``heat_bath_rows`` (the same numbers: ``backend="dense"``). Each
    half-sweep is one matrix product for the whole side's fields.
    """
    decide = decide or _decide
    b, a = J.shape
    P, S = beta2.shape
    N = P * reads
    stride = group_stride(a, b)
    keys = row_keys(key, N)
    hl = np.repeat(h_low, reads, axis=0)
    hh = np.repeat(h_high, reads, axis=0)
    bb = np.ascontiguousarray(np.repeat(beta2, reads, axis=0).T)       # (S, N)
    low = np.empty((N, a), np.float32)
    if high is None:
        high = np.empty((N, b), np.float32)
        decide(np.zeros((N, b), np.float32), np.zeros(N, np.float32), keys, 0, stride, LOGIT,
               high)
    else:
        high = np.array(high, np.float32)
    for s in range(S):
        f = hl + high @ J
        if exact_low:
            low = np.where(f >= 0, np.float32(1), np.float32(-1))
        else:
            decide(f, bb[s], keys, 2 * s + 1, stride, LOGIT, low)
        decide(hh + low @ J.T, bb[s], keys, 2 * s + 2, stride, LOGIT, high)
    passes = np.zeros(N, np.int32)
    if S == 0:
        low = np.zeros((N, a), np.float32)
    active = np.arange(N)  # the finish passes of the rows that still change
    for _ in range(max_passes):
        new_low = np.where(hl[active] + high[active] @ J >= 0, np.float32(1), np.float32(-1))
        new_high = np.where(hh[active] + new_low @ J.T >= 0, np.float32(1), np.float32(-1))
        moved = (new_low != low[active]).any(axis=1) | (new_high != high[active]).any(axis=1)
        passes[active] += moved
        low[active], high[active] = new_low, new_high
        active = active[moved]
        if not len(active):
            break
    return low, high, passes


# ---- the compiled kernel -------------------------------------------------------------------
try:
    import numba
    from numba import njit, prange
except ImportError:  # pragma: no cover - numba is a dependency; the twin keeps things working
    numba = None

if numba is not None:
    _G = np.uint64(GOLDEN)
    _U1, _U2 = np.uint64(_M1), np.uint64(_M2)
    _S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
    _LOW16 = np.uint64(0xFFFF)

    @njit(inline="always")
    def _mix(z):
        z = (z ^ (z >> _S30)) * _U1
        z = (z ^ (z >> _S27)) * _U2
        return z ^ (z >> _S31)

    @njit(inline="always")
    def _heat_bath(f, s, n, beta, rkey, base, table, hashes, new, flips, delta):
        """One heat-bath half-sweep of the n spins ``s`` in fields ``f``: returns how many
        changed; their indices go to ``flips`` and their changes (new - old) to ``delta``."""
        for g in range((n + 3) // 4):
            hashes[g] = _mix(rkey + (base + np.uint64(g)) * _G)
        bits = hashes.view(np.uint16)  # little-endian: spin 4g + lane is bits 16 lane..
        for i in range(n):  # vectorised (a gather from the table)
            new[i] = np.float32(1.0) if beta * f[i] + table[bits[i]] > 0 else np.float32(-1.0)
        return _record(s, new, n, flips, delta)

    @njit(inline="always")
    def _record(s, new, n, flips, delta):
        """``s = new``; the changed spins go to ``flips``, their changes to ``delta``."""
        k = 0
        for i in range(n):  # branch-free: a flip is a coin toss at high temperature
            d = new[i] - s[i]
            flips[k] = i
            delta[k] = d
            k += d != 0
        for i in range(n):
            s[i] = new[i]
        return k

    @njit(inline="always")
    def _sign_pass(f, s, n, new, flips, delta):
        """Zero-temperature half-pass: ``s = sign(f)`` (ties +1); returns how many changed."""
        for i in range(n):
            new[i] = np.float32(1.0) if f[i] >= 0 else np.float32(-1.0)
        return _record(s, new, n, flips, delta)

    @njit(inline="always")
    def _push(f, rows, flips, delta, k):
        """``f += sum over the k changes of delta * rows[flips]`` (rows: the couplings seen
        from the changed side, zero-padded to whole lanes), four changes per pass over f."""
        m = rows.shape[1]
        q = 0
        while q + 4 <= k:
            c0, c1, c2, c3 = flips[q], flips[q + 1], flips[q + 2], flips[q + 3]
            d0, d1, d2, d3 = delta[q], delta[q + 1], delta[q + 2], delta[q + 3]
            for j in range(m):
                f[j] += d0 * rows[c0, j] + d1 * rows[c1, j] + d2 * rows[c2, j] \
                    + d3 * rows[c3, j]
            q += 4
        while q < k:
            c, d = flips[q], delta[q]
            for j in range(m):
                f[j] += d * rows[c, j]
            q += 1

    @njit(inline="always")
    def _update_high(f_high, h_high, J, JT, s_low, flips, delta, k, b, dense):
        if k > dense:
            _dense(f_high, h_high, J, s_low, b)
        else:
            _push(f_high, JT, flips, delta, k)

    @njit(inline="always")
    def _dense(f, h, rows, s, n):
        """``f[j] = h[j] + rows[j] . s`` for j < n: the field from scratch, one dot product
        per unit (``s`` zero-padded to the rows' length)."""
        m = rows.shape[1]
        for j in range(n):
            acc = np.float32(0.0)
            for i in range(m):
                acc += rows[j, i] * s[i]
            f[j] = h[j] + acc

    @njit(parallel=True, fastmath=True, cache=True, nogil=True)
    def anneal(J, JT, h_low, h_high, beta2, reads, rkeys, table, low, high, random_start,
               max_passes, passes, exact_low):
        """Anneal every row of ``low (N, a)``, ``high (N, b)`` in place (see the module).

        ``J`` (b, a) and ``JT`` (a, b) come zero-padded by :func:`padded`; ``exact_low``: the
        low side is set to the sign of its field in every sweep, only the high side is
        heat-bath."""
        N = low.shape[0]
        a = low.shape[1]
        b = high.shape[1]
        S = beta2.shape[1]
        stride = max((a + 3) // 4, (b + 3) // 4)
        width = max(a, b)
        # past this many low-side changes a from-scratch high field is cheaper (the high
        # side is short: incremental updates there run on partly filled vectors)
        dense = a // 4
        for r in prange(N):
            p = r // reads
            rkey = rkeys[r]
            s_high = high[r]
            s_low = np.zeros(J.shape[1], np.float32)  # padded copy, written back at the end
            f_low = np.zeros(J.shape[1], np.float32)
            f_high = np.zeros(JT.shape[1], np.float32)
            flips = np.empty(width, np.int64)
            hashes = np.empty((width + 3) // 4, np.uint64)
            delta = np.empty(width, np.float32)
            new = np.empty(width, np.float32)
            zero = np.zeros(b, np.float32)
            if random_start:
                for j in range(b):
                    s_high[j] = 0.0
                k = _heat_bath(zero, s_high, b, np.float32(0.0), rkey, np.uint64(0), table,
                               hashes, new, flips, delta)
            # f_low from scratch: the high side's changes from zero
            for i in range(a):
                f_low[i] = h_low[p, i]
                s_low[i] = 0.0
            for j in range(b):
                f_high[j] = h_high[p, j]
                flips[j] = j
                delta[j] = s_high[j]
            _push(f_low, J, flips, delta, b)
            for s in range(S):
                beta = beta2[p, s]
                if exact_low:
                    k = _sign_pass(f_low, s_low, a, new, flips, delta)
                else:
                    k = _heat_bath(f_low, s_low, a, beta, rkey,
                                   np.uint64((2 * s + 1) * stride), table, hashes, new, flips,
                                   delta)
                _update_high(f_high, h_high[p], J, JT, s_low, flips, delta, k, b, dense)
                k = _heat_bath(f_high, s_high, b, beta, rkey, np.uint64((2 * s + 2) * stride),
                               table, hashes, new, flips, delta)
                _push(f_low, J, flips, delta, k)
            moved = 0
            for _ in range(max_passes):
                k = _sign_pass(f_low, s_low, a, new, flips, delta)
                _update_high(f_high, h_high[p], J, JT, s_low, flips, delta, k, b, dense)
                k2 = _sign_pass(f_high, s_high, b, new, flips, delta)
                _push(f_low, J, flips, delta, k2)
                if k == 0 and k2 == 0:
                    break
                moved += 1
            passes[r] = moved
            for i in range(a):
                low[r, i] = s_low[i]

    @njit(parallel=True, cache=True, nogil=True)
    def heat_bath_rows(fields, beta, rkeys, t, stride, table, out):
        """Heat-bath decisions of whole sides, one row per read: ``out[r, i] = +1`` iff
        ``beta[r] * fields[r, i] + L > 0`` with ``L`` the logistic noise of half-sweep ``t``
        (the numbers of :func:`noise` and of the kernel). ``fields``, ``out``: ``(N, n)``."""
        N, n = fields.shape
        base = np.uint64(t * stride)
        for r in prange(N):
            hashes = np.empty((n + 3) // 4, np.uint64)
            rkey = rkeys[r]
            for g in range((n + 3) // 4):
                hashes[g] = _mix(rkey + (base + np.uint64(g)) * _G)
            bits = hashes.view(np.uint16)
            x = beta[r]
            for i in range(n):
                out[r, i] = np.float32(1.0) if x * fields[r, i] + table[bits[i]] > 0 \
                    else np.float32(-1.0)

