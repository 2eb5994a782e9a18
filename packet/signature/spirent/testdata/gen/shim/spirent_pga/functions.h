// Stand-in for OpenPerf's spirent_pga/functions.h, for the vector generator
// only. The real header picks the fastest of the scalar and ISPC versions of
// each function by benchmarking them at start-up; it needs the ISPC objects
// and does not compile with g++ 12 (a constexpr static member without an
// initializer). The vectors come from the scalar versions, so this header
// binds each function slot that OpenPerf's common/ glue calls straight to the
// scalar implementation compiled from OpenPerf's sources.
#ifndef OPENPERFD_SPIRENT_GEN_FUNCTIONS_SHIM_H_
#define OPENPERFD_SPIRENT_GEN_FUNCTIONS_SHIM_H_

// The real header pulls these in for the files that include it.
#include <algorithm>
#include <array>
#include <cstdint>

namespace scalar {
void encode_signatures(uint8_t*[], const uint32_t[], const uint32_t[],
                       const uint32_t[], const uint32_t[], const int[],
                       uint16_t);
uint16_t decode_signatures(const uint8_t* const[], uint16_t, uint32_t[],
                           uint32_t[], uint32_t[], uint32_t[], int[]);
void fill_constant_aligned(uint32_t[], uint16_t, uint32_t);
uint8_t fill_step_aligned(uint32_t[], uint16_t, uint8_t, int8_t);
uint32_t fill_prbs_aligned(uint32_t[], uint16_t, uint32_t);
uint64_t verify_prbs_aligned(const uint32_t[], uint16_t, uint32_t);
} // namespace scalar

namespace pga {

struct functions
{
    static functions& instance()
    {
        static functions f;
        return f;
    }

    decltype(&scalar::encode_signatures) encode_signatures_impl =
        scalar::encode_signatures;
    decltype(&scalar::decode_signatures) decode_signatures_impl =
        scalar::decode_signatures;
    decltype(&scalar::fill_constant_aligned) fill_constant_aligned_impl =
        scalar::fill_constant_aligned;
    decltype(&scalar::fill_step_aligned) fill_step_aligned_impl =
        scalar::fill_step_aligned;
    decltype(&scalar::fill_prbs_aligned) fill_prbs_aligned_impl =
        scalar::fill_prbs_aligned;
    decltype(&scalar::verify_prbs_aligned) verify_prbs_aligned_impl =
        scalar::verify_prbs_aligned;
};

} // namespace pga

#endif
