/* The front ends' libsoxr resampler (see app_resample.h). */
#include "app_resample.h"

soxr_t app_resampler_new(double in_rate, double out_rate, const char **why) {
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    soxr_error_t se = NULL;
    soxr_t s = soxr_create(in_rate, out_rate, 1, &se, &io, &q, NULL);
    if (!s || se) {
        if (s)
            soxr_delete(s);
        *why = se ? se : "soxr_create failed";
        return NULL;
    }
    return s;
}
