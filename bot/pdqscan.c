/* The PDQ index's per-query inner loop (bot/pdqindex.py), in one pass instead of numpy's fifteen.
 *
 * Built by scripts/setup (bot.pdqindex.build_kernel) into bot/_pdqscan.so and called through ctypes,
 * which lets other threads run meanwhile. bot/pdqindex.py does the same in numpy when it is absent;
 * the tests hold both to brute force. Layout and rules are in that module's docstring.
 */
#include <stdint.h>

#define PDQ_ABI 4
#define CHUNKS 8
#define PREFETCH 8 /* buckets ahead */

int pdq_abi(void) { return PDQ_ABI; }

static inline int pc32(uint32_t x) { return __builtin_popcount(x); }
static inline int pc64(uint64_t x) { return __builtin_popcountll(x); }

/* Sizes of the buckets within each weight 0..max_weight of the query's key, per table:
 * out[table * (max_weight + 1) + weight]. The planner decides from these. */
void pdq_bucket_sums(const uint32_t *offsets, int bits, const uint32_t *query32, const int64_t *masks,
                     const int64_t *ends, int max_weight, int64_t *out)
{
    const int64_t width = ((int64_t)1 << bits) + 1;
    for (int table = 0; table < CHUNKS; table++) {
        const uint32_t *off = offsets + table * width;
        const uint32_t key = query32[table] >> (32 - bits);
        int64_t i = 0;
        for (int weight = 0; weight <= max_weight; weight++) {
            int64_t sum = 0;
            for (; i < ends[weight]; i++) {
                const uint32_t bucket = key ^ (uint32_t)masks[i];
                sum += (int64_t)off[bucket + 1] - off[bucket];
            }
            out[table * (max_weight + 1) + weight] = sum;
        }
    }
}

static inline int64_t log2_ceil(uint32_t x)
{
    return x <= 1 ? 1 : 32 - __builtin_clz(x - 1);
}

/* The first position in column[lo, hi) (sorted) holding at least `key`. */
static inline uint32_t lower_bound(const uint32_t *column, uint32_t lo, uint32_t hi, uint64_t key)
{
    while (lo < hi) {
        const uint32_t mid = lo + (hi - lo) / 2;
        if (column[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The same over the rows' chunk 0 (table 0's order). */
static inline uint32_t rows_lower_bound(const uint32_t *rows32, uint32_t lo, uint32_t hi, uint64_t chunk)
{
    while (lo < hi) {
        const uint32_t mid = lo + (hi - lo) / 2;
        if (rows32[(int64_t)mid * 8] < chunk)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The first table whose threshold `row` is within: a match is reported by that table only. */
static inline int first_table(const uint32_t *row32, const uint32_t *query32, const int32_t *plan, int prefix_bits)
{
    for (int table = 0; table < CHUNKS; table++) {
        if (plan[table] < 0)
            continue;
        uint32_t differ = row32[table] ^ query32[table];
        if (table)
            differ >>= 32 - prefix_bits;
        if (pc32(differ) <= plan[table])
            return table;
    }
    return CHUNKS;
}

/* Every live row within `radius` of `query`: positions and distances, at most `capacity` written;
 * returns how many there are. `masks`/`ends`: bucket-key masks by weight; `extra_masks`/`extra_ends`:
 * the same over the bits stored in an entry, `low_masks`/`low_ends` over a chunk's bits below its
 * bucket key; `split`: binary-search crowded buckets (0: read them all, for comparison). `bounds` is
 * room for two uint32 per bucket of the widest table read. */
int64_t pdq_search(const uint64_t *rows, int64_t n, const uint32_t *entries, const uint32_t *offsets, int bits,
                   int pos_bits, const uint8_t *dead, const uint64_t *query, int radius, const int32_t *plan,
                   const int64_t *masks, const int64_t *ends, const int64_t *extra_masks, const int64_t *extra_ends,
                   const int64_t *low_masks, const int64_t *low_ends, int split, uint32_t *bounds, int64_t *out_pos,
                   uint16_t *out_dist, int64_t capacity)
{
    const uint32_t *query32 = (const uint32_t *)query;
    const uint32_t *rows32 = (const uint32_t *)rows;
    const int prefix_bits = bits + 32 - pos_bits > 32 ? 32 : bits + 32 - pos_bits;
    const int extra = prefix_bits - bits;
    const uint32_t pos_mask = pos_bits >= 32 ? 0xFFFFFFFFu : (1u << pos_bits) - 1;
    const uint32_t extra_mask = extra >= 32 ? 0xFFFFFFFFu : (1u << extra) - 1;
    const uint32_t low_mask = (1u << (32 - bits)) - 1;
    const int64_t width = ((int64_t)1 << bits) + 1;
    int64_t count = 0;

#define VERIFY(position, table)                                                                          \
    do {                                                                                                 \
        const int64_t p_ = (position);                                                                   \
        const uint64_t *r_ = rows + 4 * p_;                                                              \
        int d_ = pc64(r_[0] ^ query[0]) + pc64(r_[1] ^ query[1]);                                       \
        if (d_ > radius)                                                                                 \
            break;                                                                                       \
        d_ += pc64(r_[2] ^ query[2]) + pc64(r_[3] ^ query[3]);                                          \
        if (d_ > radius || first_table((const uint32_t *)r_, query32, plan, prefix_bits) != (table))    \
            break;                                                                                       \
        if (dead && ((dead[p_ >> 3] >> (p_ & 7)) & 1))                                                   \
            break;                                                                                       \
        if (count < capacity) {                                                                          \
            out_pos[count] = p_;                                                                         \
            out_dist[count] = (uint16_t)d_;                                                              \
        }                                                                                                \
        count++;                                                                                         \
    } while (0)

    for (int table = 0; table < CHUNKS; table++) {
        const int limit = plan[table];
        if (limit < 0)
            continue;
        const uint32_t *off = offsets + table * width;
        const uint32_t key = query32[table] >> (32 - bits);
        const uint32_t want = (query32[table] >> (32 - prefix_bits)) & extra_mask;
        const uint32_t *column = table ? entries + (int64_t)(table - 1) * n : entries;
        const int64_t buckets = ends[limit];
        /* Every bucket's bounds first: independent loads the processor overlaps, where reading them
         * inside the scan would wait for each cache miss in turn. */
        for (int64_t i = 0; i < buckets; i++) {
            const uint32_t bucket = key ^ (uint32_t)masks[i];
            bounds[2 * i] = off[bucket];
            bounds[2 * i + 1] = off[bucket + 1];
        }
        int weight = 0;
        for (int64_t i = 0; i < buckets; i++) {
            while (i >= ends[weight])
                weight++;
            const int allowed = limit - weight;
            if (i + PREFETCH < buckets) {
                const uint32_t ahead = bounds[2 * (i + PREFETCH)];
                if (table == 0)
                    __builtin_prefetch(rows32 + (int64_t)ahead * 8);
                else
                    __builtin_prefetch(column + ahead);
            }
            const uint32_t start = bounds[2 * i], end = bounds[2 * i + 1];
            if (table == 0 && split && (int64_t)low_ends[allowed] * 2 * log2_ceil(end - start) < end - start) {
                /* A crowded bucket of table 0: its rows are sorted by chunk 0, so binary-search the runs
                 * of chunk values within `allowed` of the query's. */
                const uint32_t top = (key ^ (uint32_t)masks[i]) << (32 - bits);
                for (int64_t m = 0; m < low_ends[allowed]; m++) {
                    const uint64_t chunk = top | ((query32[0] ^ (uint32_t)low_masks[m]) & low_mask);
                    const uint32_t from = rows_lower_bound(rows32, start, end, chunk);
                    const uint32_t to = rows_lower_bound(rows32, from, end, chunk + 1);
                    for (uint32_t p = from; p < to; p++)
                        VERIFY(p, 0);
                }
            } else if (table == 0) {
                /* The rows are in table 0's order: check the whole chunk in place. */
                for (uint32_t p = start; p < end; p++)
                    if (pc32(rows32[(int64_t)p * 8] ^ query32[0]) <= limit)
                        VERIFY(p, 0);
            } else if (split && extra && (int64_t)extra_ends[allowed] * 2 * log2_ceil(end - start) < end - start) {
                /* A crowded bucket (near-duplicates): its entries are sorted by the chunk's next bits, so
                 * binary-search the runs within `allowed` of the query's instead of reading them all. */
                const uint32_t above = (column[start] >> pos_bits) & ~extra_mask; /* the same in one bucket */
                for (int64_t m = 0; m < extra_ends[allowed]; m++) {
                    const uint64_t next = above | (want ^ (uint32_t)extra_masks[m]);
                    const uint32_t from = lower_bound(column, start, end, next << pos_bits);
                    const uint32_t to = lower_bound(column, from, end, (next + 1) << pos_bits);
                    for (uint32_t j = from; j < to; j++)
                        VERIFY(column[j] & pos_mask, table);
                }
            } else {
                for (uint32_t j = start; j < end; j++) {
                    const uint32_t entry = column[j];
                    const uint32_t known = extra ? ((entry >> pos_bits) ^ want) & extra_mask : 0;
                    if (pc32(known) <= allowed)
                        VERIFY(entry & pos_mask, table);
                }
            }
        }
    }
#undef VERIFY
    return count;
}
