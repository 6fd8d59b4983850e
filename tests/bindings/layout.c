/*
 * Prints the layout of the public structs the bindings mirror (Python ctypes, Swift imports
 * them from the header), one line per struct and per field:
 *     STRUCT sizeof N align A
 *     STRUCT.FIELD offset O size S
 * bindings/python/tests/test_layout.py compares these lines with its ctypes structures.
 */
#include <stddef.h>
#include <stdio.h>

#include "kstt.h"

#define S(T) printf(#T " sizeof %zu align %zu\n", sizeof(T), _Alignof(T))
#define F(T, f) printf(#T "." #f " offset %zu size %zu\n", offsetof(T, f), sizeof(((T *)0)->f))

int main(void) {
    S(kstt_event);
    F(kstt_event, type);
    F(kstt_event, step);
    F(kstt_event, start);
    F(kstt_event, stop);
    F(kstt_event, prs);
    F(kstt_event, text);
    F(kstt_event, tokens);
    F(kstt_event, n_tokens);

    S(kstt_stream_params);
    F(kstt_stream_params, pad);
    F(kstt_stream_params, step_events);
    F(kstt_stream_params, temperature);
    F(kstt_stream_params, seed);
    F(kstt_stream_params, on_event);
    F(kstt_stream_params, user);
    F(kstt_stream_params, abort);

    S(kstt_model_params);
    F(kstt_model_params, pool);
    F(kstt_model_params, kernels);
    F(kstt_model_params, asr_delay_in_tokens);
    F(kstt_model_params, kv_type);
    F(kstt_model_params, mimi_weights);
    F(kstt_model_params, num_codebooks);

    S(kstt_model_info);
    F(kstt_model_info, sample_rate);
    F(kstt_model_info, frame_size);
    F(kstt_model_info, frame_rate);
    F(kstt_model_info, asr_delay_in_tokens);
    F(kstt_model_info, audio_delay_seconds);
    F(kstt_model_info, silence_prefix_seconds);
    F(kstt_model_info, prefix_frames);
    F(kstt_model_info, has_vad);
    F(kstt_model_info, num_codebooks);
    F(kstt_model_info, text_vocab);
    F(kstt_model_info, context);

    S(kstt_mimi_params);
    F(kstt_mimi_params, config_path);
    F(kstt_mimi_params, num_codebooks);
    F(kstt_mimi_params, pool);
    F(kstt_mimi_params, kernels);
    F(kstt_mimi_params, weights);

    /* enums are passed as int */
    printf("enum sizeof %zu align %zu\n", sizeof(kstt_event_type), _Alignof(kstt_event_type));
    return 0;
}
