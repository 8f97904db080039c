"""Coverage cases: Hugging Face transformers (models and a tokenizer built
from configs: no downloads), after a training step."""
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import (
                         BertConfig,
                         BertForSequenceClassification,
                         GPT2Config,
                         GPT2LMHeadModel,
                         PreTrainedTokenizerFast,
)

torch.set_num_threads(1)
torch.manual_seed(0)
bert_config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1,
                         num_attention_heads=2, intermediate_size=32, max_position_embeddings=16)
bert = BertForSequenceClassification(bert_config)
gpt_config = GPT2Config(vocab_size=40, n_positions=16, n_embd=16, n_layer=1, n_head=2)
gpt = GPT2LMHeadModel(gpt_config)
optimizer = torch.optim.AdamW(gpt.parameters(), lr=1e-3)
ids = torch.randint(0, 40, (2, 8))
out = gpt(ids, labels=ids)
out.loss.backward()
optimizer.step()
gpt.eval()
vocab = {"[UNK]": 0, "[PAD]": 1, "hello": 2, "world": 3}
backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
backend.pre_tokenizer = pre_tokenizers.Whitespace()
tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]")
batch = tokenizer(["hello world", "world"], padding=True)
probe_ids = torch.tensor([[1, 2, 3, 4]])

CASES = {
    "bert_config": ("bert_config", "[bert_config.to_dict()['hidden_size'], bert_config.num_labels]"),
    "bert_forward": ("bert", "[sig(bert.eval()(probe_ids).logits.detach())]"),
    "gpt_after_step": ("gpt", "[sig(gpt(probe_ids).logits.detach())]"),
    "gpt_tied_embeddings": ("gpt", "[gpt.lm_head.weight is gpt.transformer.wte.weight]"),
    "adamw_state": ("optimizer gpt", "[len(optimizer.state), optimizer.param_groups[0]['lr']]"),
    "model_output": ("out", "[round(float(out.loss), 6), sorted(out.keys())]"),
    "tokenizer": ("tokenizer", "[tokenizer('hello world')['input_ids'], tokenizer.pad_token]"),
    "batch_encoding": ("batch", "[batch['input_ids'], batch['attention_mask']]"),
}
