"""Model configurations of kstt-demo-en (Mimi encoder and STT LM), shared by train.py and
import_model.py (which must not need torch)."""
SR = 24000


def default_configs(text_card):
    mimi = {
        "sample_rate": SR, "channels": 1, "frame_rate": 12.5,
        "seanet": {"channels": 1, "dimension": 256, "causal": True, "n_filters": 16,
                   "n_residual_layers": 1, "activation": "ELU", "compress": 2,
                   "dilation_base": 2, "disable_norm_outer_blocks": 0, "kernel_size": 7,
                   "residual_kernel_size": 3, "last_kernel_size": 3, "norm": "none",
                   "pad_mode": "constant", "ratios": [8, 6, 5, 4], "true_skip": True},
        "quantizer": {"dimension": 64, "n_q": 8, "bins": 1024, "input_dimension": 256,
                      "output_dimension": 256},
        "transformer": {"d_model": 256, "num_heads": 4, "num_layers": 2, "causal": True,
                        "layer_scale": 0.01, "context": 250, "conv_layout": True,
                        "max_period": 10000, "gating": "none", "norm": "layer_norm",
                        "positional_embedding": "rope", "dim_feedforward": 1024,
                        "input_dimension": 256, "output_dimensions": [256]},
    }
    lm = {
        "dim": 256, "text_card": text_card, "existing_text_padding_id": 3, "n_q": 8, "dep_q": 0,
        "card": 1024, "num_heads": 4, "num_layers": 6, "hidden_scale": 4.125, "causal": True,
        "layer_scale": None, "context": 250, "max_period": 100000.0, "gating": "silu",
        "norm": "rms_norm_f32", "positional_embedding": "rope",
        "extra_heads_num_heads": 4, "extra_heads_dim": 6,
    }
    return mimi, lm
