/* ALSA stand-ins so that flite_words links statically without libasound (it never plays audio;
 * the GPU machine has no audio stack). Every call fails. */
#define STUB(name)                                                                                 \
    int name(void);                                                                                \
    int name(void) {                                                                               \
        return -1;                                                                                 \
    }
STUB(snd_config_update_free_global)
STUB(snd_pcm_close)
STUB(snd_pcm_drain)
STUB(snd_pcm_drop)
STUB(snd_pcm_hw_params)
STUB(snd_pcm_hw_params_any)
STUB(snd_pcm_hw_params_set_access)
STUB(snd_pcm_hw_params_set_channels)
STUB(snd_pcm_hw_params_set_format)
STUB(snd_pcm_hw_params_set_rate)
STUB(snd_pcm_hw_params_sizeof)
STUB(snd_pcm_open)
STUB(snd_pcm_prepare)
STUB(snd_pcm_resume)
STUB(snd_pcm_set_params)
STUB(snd_pcm_state)
STUB(snd_pcm_wait)
STUB(snd_pcm_writei)
const char *snd_strerror(int e);
const char *snd_strerror(int e) {
    (void)e;
    return "no audio";
}
