// driver.cpp prints test vectors for openperfd's Spirent signature codec by
// calling OpenPerf's own spirent_pga code (compiled from OpenPerf's sources
// by gen.sh; nothing of it is copied here). It writes one JSON document to
// stdout; see README.md.
//
// Entry points used, all from OpenPerf's src/lib/spirent_pga:
//   pga::signature::encode / decode / crc_filter   (common/signature.cpp,
//       over scalar/encode_signatures.cpp and scalar/decode_signatures.cpp)
//   pga::signature::get_scramble_mask              (scalar/signature_scramble.h)
//   calculate_signature_crc16                      (common/crc.h)
//   pga::fill::prbs, pga::verify::prbs             (common/fill.cpp,
//       common/verify.cpp over scalar/prbs.cpp)
// These are what OpenPerf's public C API (api.cpp: pga_signatures_encode,
// pga_signatures_decode, pga_signatures_crc_filter, pga_fill_prbs,
// pga_verify_prbs) forwards to.

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/crc.h"
#include "common/fill.h"
#include "common/signature.h"
#include "common/verify.h"
#include "scalar/signature_scramble.h"

namespace {

constexpr int sig_len = 20;

// splitmix64: a fixed, portable stream of pseudo-random inputs.
struct rng
{
    uint64_t s;
    uint64_t next()
    {
        uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
};

std::string hex(const uint8_t* p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (size_t i = 0; i < n; i++) {
        s += digits[p[i] >> 4];
        s += digits[p[i] & 0xf];
    }
    return s;
}

struct sig_in
{
    uint32_t stream_id;
    uint32_t sequence;
    uint64_t timestamp;
    int flags;
};

struct decoded
{
    bool crc_ok;
    bool valid;
    uint32_t stream_id, sequence;
    uint64_t timestamp;
    int flags;
};

decoded decode_one(const uint8_t* p)
{
    const uint8_t* ps[1] = {p};
    int crc_matches[1] = {0};
    pga::signature::crc_filter(ps, 1, crc_matches);
    uint32_t sid[1] = {0}, seq[1] = {0};
    uint64_t ts[1] = {0};
    int flags[1] = {0};
    pga::signature::decode(ps, 1, sid, seq, ts, flags);
    // OpenPerf's rx path accepts a signature when the CRC matches and the
    // decoder's status bit (1<<2, api.cpp) is set.
    decoded d{crc_matches[0] != 0, (flags[0] & 4) != 0, 0, 0, 0, flags[0]};
    if (d.valid) {
        d.stream_id = sid[0];
        d.sequence = seq[0];
        d.timestamp = ts[0];
    }
    return d;
}

void print_decoded(const decoded& d)
{
    printf("\"crc_ok\":%s,\"valid\":%s", d.crc_ok ? "true" : "false",
           d.valid ? "true" : "false");
    if (d.valid) {
        printf(",\"stream_id\":%u,\"sequence\":%u,\"timestamp\":%llu,"
               "\"flags\":%d",
               d.stream_id, d.sequence, (unsigned long long)d.timestamp,
               d.flags);
    }
}

void encode_one(uint8_t* dst, const sig_in& s)
{
    uint8_t* ds[1] = {dst};
    pga::signature::encode(
        ds, &s.stream_id, &s.sequence, &s.timestamp, &s.flags, 1);
}

std::vector<sig_in> encode_inputs()
{
    std::vector<sig_in> in;
    const uint32_t ids[] = {0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000,
                            0x12345678, 0x7fffffff, 0x80000000, 0xfffffffe,
                            0xffffffff};
    const uint32_t seqs[] = {0, 1, 0xfe, 0xff, 0x100, 0xffff, 0x10000,
                             0xffffff, 0x1000000, 0x7fffffff, 0x80000000,
                             0xfffffffe, 0xffffffff};
    const uint64_t tss[] = {0, 1, 2, 0xff, 0xffffffffULL, 0x100000000ULL,
                            0x2fffffffffULL, 0x3fffffffffULL,
                            0x4000000000ULL, 0x4000000001ULL,
                            0x123456789aULL, 0x7fffffffffULL,
                            0xffffffffffffffffULL};
    for (auto id : ids) in.push_back({id, 0x01020304, 0x0a0b0c0d0eULL, 0});
    for (auto seq : seqs) in.push_back({0xc0ffee, seq, 0x0a0b0c0d0eULL, 0});
    for (auto ts : tss) in.push_back({0xc0ffee, 42, ts, 0});
    // Every flag value, including bits the format has no room for.
    for (int f = 0; f < 8; f++) in.push_back({0xc0ffee, 42, 0x155555555ULL, f});
    // Extremes together, under every flag combination.
    for (int f = 0; f < 4; f++) {
        in.push_back({0, 0, 0, f});
        in.push_back({0xffffffff, 0xffffffff, 0x3fffffffffULL, f});
        in.push_back({0xffffffff, 0, 0x3fffffffffULL, f});
        in.push_back({0, 0xffffffff, 0, f});
    }
    // A sequence run across a wrap, and every low sequence byte (the
    // scramble key).
    for (uint32_t i = 0; i < 6; i++)
        in.push_back({7, 0xfffffffdU + i, 1000 + i, 1});
    for (uint32_t i = 0; i < 256; i++)
        in.push_back({0x00abcdef, 0x01020300 + i, 0x2000000000ULL + i, 2});
    rng r{1};
    for (int i = 0; i < 300; i++) {
        uint64_t a = r.next(), b = r.next();
        in.push_back({uint32_t(a), uint32_t(a >> 32), b >> (i % 2 ? 26 : 0),
                      int(b & 3)});
    }
    return in;
}

void emit_scramble_masks()
{
    printf("\"scramble_masks\":[\n");
    for (int k = 0; k < 256; k++) {
        auto m = pga::signature::get_scramble_mask(uint8_t(k));
        printf("\"%08x%08x%08x%08x\"%s\n", m[0], m[1], m[2], m[3],
               k < 255 ? "," : "");
    }
    printf("],\n");
}

void emit_encode()
{
    auto in = encode_inputs();
    printf("\"encode\":[\n");
    for (size_t i = 0; i < in.size(); i++) {
        uint8_t buf[sig_len];
        memset(buf, 0xa5, sizeof(buf));
        encode_one(buf, in[i]);
        printf("{\"stream_id\":%u,\"sequence\":%u,\"timestamp\":%llu,"
               "\"flags\":%d,\"bytes\":\"%s\",\"decoded\":{",
               in[i].stream_id, in[i].sequence,
               (unsigned long long)in[i].timestamp, in[i].flags,
               hex(buf, sig_len).c_str());
        print_decoded(decode_one(buf));
        printf("}}%s\n", i + 1 < in.size() ? "," : "");
    }
    printf("],\n");
}

void emit_decode_case(bool& first, const char* kind, const uint8_t* p)
{
    printf("%s{\"kind\":\"%s\",\"bytes\":\"%s\",", first ? "" : ",\n", kind,
           hex(p, sig_len).c_str());
    print_decoded(decode_one(p));
    printf("}");
    first = false;
}

void fix_crc(uint8_t* p)
{
    uint16_t crc = calculate_signature_crc16(p);
    p[16] = crc >> 8;
    p[17] = crc & 0xff;
}

void emit_decode()
{
    printf("\"decode\":[\n");
    bool first = true;
    const sig_in bases[] = {{0x12345678, 0x9abcdef0, 0x123456789aULL, 3},
                            {0, 0, 0, 0},
                            {0xffffffff, 0xffffffff, 0x3fffffffffULL, 1},
                            {0xc0ffee, 0x00ff00ff, 0x1000, 2}};
    for (const auto& b : bases) {
        uint8_t good[sig_len];
        encode_one(good, b);
        emit_decode_case(first, "good", good);
        for (int bit = 0; bit < sig_len * 8; bit++) {
            uint8_t p[sig_len];
            memcpy(p, good, sig_len);
            p[bit / 8] ^= uint8_t(0x80 >> (bit % 8));
            emit_decode_case(first, "flip", p);
            if (bit < 128) { // a data bit: also try with a CRC that fits
                fix_crc(p);
                emit_decode_case(first, "flip_crc_fixed", p);
            }
        }
        for (int byte = 0; byte < 16; byte++) {
            uint8_t p[sig_len];
            memcpy(p, good, sig_len);
            p[byte] ^= 0xff;
            fix_crc(p);
            emit_decode_case(first, "byte_inverted_crc_fixed", p);
        }
        uint8_t p[sig_len];
        memcpy(p, good, sig_len);
        p[18] = 0x12, p[19] = 0x34; // the UDP checksum cheater
        emit_decode_case(first, "cheater_set", p);
    }
    uint8_t p[sig_len];
    memset(p, 0, sig_len);
    emit_decode_case(first, "zeros", p);
    fix_crc(p);
    emit_decode_case(first, "zeros_crc_fixed", p);
    memset(p, 0xff, sig_len);
    emit_decode_case(first, "ones", p);
    fix_crc(p);
    emit_decode_case(first, "ones_crc_fixed", p);
    rng r{2};
    for (int i = 0; i < 400; i++) {
        for (auto& x : p) x = uint8_t(r.next());
        emit_decode_case(first, "random", p);
        fix_crc(p);
        emit_decode_case(first, "random_crc_fixed", p);
    }
    printf("\n],\n");
}

// OpenPerf's fill and verify look at the payload's address modulo 4, so the
// buffers here are aligned and the payload starts at base+phase.
alignas(64) uint8_t arena[4096 + 64];

void emit_prbs()
{
    printf("\"prbs_fill\":[\n");
    // A chain as a tx queue makes it: the seed starts at all ones and
    // carries from payload to payload, whatever their lengths and phases.
    // Payloads shorter than their unaligned head make OpenPerf write a few
    // bytes past their end (into the arena's slack); only the payload's own
    // bytes are printed.
    struct step
    {
        int phase, length;
    };
    std::vector<step> chain = {{0, 64}, {2, 37}, {1, 8}, {3, 9}, {0, 10},
                               {2, 1458}, {1, 46}, {3, 100}, {0, 4},
                               {2, 1024}, {1, 1}, {3, 2}, {2, 3}, {1, 2},
                               {0, 1}, {0, 3}};
    rng cr{4};
    for (int i = 0; i < 64; i++)
        chain.push_back({int(cr.next() % 4), int(4 + cr.next() % 77)});
    uint32_t seed = 0xffffffff;
    for (size_t i = 0; i < chain.size(); i++) {
        uint8_t* p = arena + chain[i].phase;
        uint32_t next = pga::fill::prbs(p, chain[i].length, seed);
        printf("{\"seed\":%u,\"phase\":%d,\"length\":%d,\"next_seed\":%u,"
               "\"bytes\":\"%s\"}%s\n",
               seed, chain[i].phase, chain[i].length, next,
               hex(p, chain[i].length).c_str(),
               i + 1 < chain.size() ? "," : "");
        seed = next;
    }
    printf("],\n");

    printf("\"prbs_verify\":[\n");
    bool first = true;
    rng r{3};
    for (int phase = 0; phase < 4; phase++) {
        for (int length : {4, 7, 8, 9, 12, 13, 46, 64, 99, 1458}) {
            uint8_t* p = arena + phase;
            pga::fill::prbs(p, length, uint32_t(r.next()) | 1);
            std::vector<uint8_t> clean(p, p + length);
            // none, one bit at several places, a burst, and random data
            std::vector<std::vector<int>> flips = {
                {}, {0}, {7}, {31}, {32}, {33}, {length * 8 - 1},
                {length * 4}, {40, 41, 42, 43, 44}, {5, 200, 700, 9000}};
            for (size_t f = 0; f <= flips.size(); f++) {
                memcpy(p, clean.data(), length);
                if (f < flips.size()) {
                    for (int bit : flips[f])
                        if (bit < length * 8) p[bit / 8] ^= 0x80 >> (bit % 8);
                } else {
                    for (int j = 0; j < length; j++) p[j] = uint8_t(r.next());
                }
                uint32_t errors = pga::verify::prbs(p, length);
                printf("%s{\"phase\":%d,\"bytes\":\"%s\",\"bit_errors\":%u}",
                       first ? "" : ",\n", phase, hex(p, length).c_str(),
                       errors);
                first = false;
            }
        }
    }
    printf("\n]\n");
}

} // namespace

int main(int argc, char* argv[])
{
    printf("{\n\"openperf_commit\":\"%s\",\n", argc > 1 ? argv[1] : "");
    emit_scramble_masks();
    emit_encode();
    emit_decode();
    emit_prbs();
    printf("}\n");
    return 0;
}
