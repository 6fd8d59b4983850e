// include/mimi.h and include/kstt.h compiled as C++ and driven: both public headers must be
// usable from C++ (extern "C", no C-only constructs). Encodes 2 s of the golden English clip
// with the tiny Mimi through both interfaces and checks they agree.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kstt.h"
#include "mimi.h"

static int failures = 0;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            std::fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);                    \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static std::string golden(const char *name) {
    const char *dir = std::getenv("KSTT_GOLDEN_DIR");
    return std::string(dir ? dir : "../shared/golden") + "/" + name;
}

int main() {
    const std::string file = golden("stt_tiny/mimi_tiny.safetensors");
    const std::string cfg = golden("stt_tiny/mimi_tiny_config.json");
    std::vector<float> pcm(2 * 24000);
    FILE *f = std::fopen(golden("bria_10s_24k.f32").c_str(), "rb");
    if (!f || std::fread(pcm.data(), sizeof(float), pcm.size(), f) != pcm.size()) {
        std::fprintf(stderr, "golden clip missing (set KSTT_GOLDEN_DIR)\n");
        return 1;
    }
    std::fclose(f);

    // native API
    kstt_mimi_params p = kstt_mimi_params_default();
    p.config_path = cfg.c_str();
    kstt_mimi *m = nullptr;
    char err[512];
    CHECK(kstt_mimi_load(&m, file.c_str(), &p, err, sizeof err) == KSTT_OK);
    if (!m)
        return 1;
    kstt_mimi_stream *s = nullptr;
    CHECK(kstt_mimi_stream_new(&s, m) == KSTT_OK);
    const int k = kstt_mimi_num_codebooks(m);
    const size_t frames = kstt_mimi_stream_frames_after(s, pcm.size());
    CHECK(frames == 25);
    std::vector<int32_t> native(frames * k);
    CHECK(kstt_mimi_stream_encode(s, pcm.data(), pcm.size(), native.data(), frames) == 25);
    CHECK(std::string(kstt_strerror(KSTT_ERANGE)).size() > 0);

    // rustymimi-c API
    MimiTokenizer *t = mimi_tokenizer_new_ex(file.c_str(), (size_t)k, cfg.c_str(), err, sizeof err);
    CHECK(t != nullptr);
    if (!t)
        return 1;
    std::vector<uint32_t> compat;
    for (size_t i = 0; i < pcm.size(); i += 4000) {
        uint32_t *codes = nullptr;
        size_t nk = 0, steps = 0;
        if (mimi_encode_step(t, pcm.data() + i, 4000, &codes, &nk, &steps) == 0) {
            CHECK(nk == (size_t)k);
            compat.insert(compat.end(), codes, codes + nk * steps);
            mimi_free_codes(codes, nk * steps);
        }
    }
    CHECK(compat.size() == native.size());
    for (size_t i = 0; i < compat.size() && i < native.size(); i++)
        CHECK(compat[i] == (uint32_t)native[i]);
    CHECK(std::strcmp(mimi_last_error(t), "") == 0);
    mimi_reset(t);
    mimi_tokenizer_free(t);
    kstt_mimi_stream_free(s);
    kstt_mimi_free(m);
    std::printf("%s\n%d passed, %d failed\n",
                failures ? "[FAIL] test_mimi_h_cpp" : "[ ok ] test_mimi_h_cpp", failures ? 0 : 1,
                failures ? 1 : 0);
    return failures ? 1 : 0;
}
