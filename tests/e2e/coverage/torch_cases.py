"""Coverage cases: torch (a few training steps, then objects changed in place)."""
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.set_num_threads(1)
torch.manual_seed(0)
X = torch.randn(32, 4)
y = (X[:, 0] > 0).long()
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
loss_fn = nn.CrossEntropyLoss()
for step in range(3):
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    scheduler.step()
loss = loss_fn(model(X), y)
loss.backward()  # gradients of the next step, not applied yet
adam_model = nn.Linear(3, 1)
adam = torch.optim.AdamW(adam_model.parameters(), lr=0.01, weight_decay=0.1)
adam_model(torch.ones(2, 3)).sum().backward()
adam.step()
bn = nn.BatchNorm1d(4)
bn(torch.randn(8, 4))
bn.eval()
leaf = torch.ones(3, requires_grad=True)
(leaf * 2).sum().backward()
nonleaf = leaf * 3
weights = torch.arange(12.0).reshape(3, 4)
row = weights[1]
row += 100
transposed = weights.t()
narrowed = weights[:, 1:3]
strided = weights[::2]
array = np.arange(6.0)
shared = torch.from_numpy(array)
shared[0] = -5
param = nn.Parameter(torch.zeros(2))
param.tag = "bias-like"
tied = nn.Module()
tied.enc = nn.Embedding(5, 3)
tied.dec = nn.Linear(3, 5, bias=False)
tied.dec.weight = tied.enc.weight
half = torch.randn(3).half()
bf16 = torch.randn(3).bfloat16()
ints = torch.randint(0, 10, (5,))
bools = ints > 4
complex_t = torch.tensor([1 + 2j, 3 - 1j])
channels_last = torch.randn(1, 2, 3, 3).to(memory_format=torch.channels_last)
sparse = torch.sparse_coo_tensor([[0, 1], [1, 0]], [3.0, 4.0], (2, 2))
generator = torch.Generator().manual_seed(3)
torch.rand(2, generator=generator)
dataset = TensorDataset(X, y)
loader = DataLoader(dataset, batch_size=8, shuffle=False)
scalar = torch.tensor(2.5)
no_grad_param = nn.Parameter(torch.ones(2), requires_grad=False)
module_list = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
module_list.append(module_list[0])
state_dict = model.state_dict()
buffers_module = nn.Module()
buffers_module.register_buffer("running", torch.zeros(3))
buffers_module.running += 1
dtype = torch.float64
device = torch.device("cpu")

CASES = {
    "model_forward": ("model", "[sig(model(X[:2]).detach())]"),
    "model_grads": ("model", "[sig(p.grad) for p in model.parameters()]"),
    "sgd_momentum_next_step": ("optimizer model scheduler",
                               ("[optimizer.step(), scheduler.step(), "
                                "[sig(p.detach()) for p in model.parameters()], "
                                "scheduler.get_last_lr()]")),
    "scheduler_state": ("scheduler", "[scheduler.last_epoch, scheduler.get_last_lr()]"),
    "adamw_state": ("adam adam_model", ("[sorted(adam.state[adam_model.weight]), "
                                        "sig(adam.state[adam_model.weight]['exp_avg'])]")),
    "batchnorm_stats": ("bn", "[sig(bn.running_mean), int(bn.num_batches_tracked), bn.training]"),
    "leaf_grad": ("leaf", "sig(leaf)"),
    "non_leaf": ("nonleaf", "[nonleaf.is_leaf, nonleaf.grad_fn is not None, sig(nonleaf.detach())]"),
    "loss_non_leaf": ("loss", "[loss.is_leaf, round(float(loss), 6)]"),
    "row_view": ("row weights", "[sig(row), row.data_ptr() == weights[1].data_ptr()]"),
    "transposed_view": ("transposed weights", "[sig(transposed), transposed._base is weights]"),
    "narrow_view": ("narrowed weights", "[sig(narrowed), narrowed._base is weights]"),
    "strided_view": ("strided weights", "[sig(strided), strided._base is weights]"),
    "from_numpy_sharing": ("shared array", "[sig(shared), np.shares_memory(shared.numpy(), array)]"),
    "parameter_attribute": ("param", "[sig(param), getattr(param, 'tag', None)]"),
    "tied_weights": ("tied", "[tied.dec.weight is tied.enc.weight]"),
    "half": ("half", "sig(half)"),
    "bfloat16": ("bf16", "sig(bf16)"),
    "int64": ("ints", "sig(ints)"),
    "bool": ("bools", "sig(bools)"),
    "complex": ("complex_t", "sig(complex_t)"),
    "channels_last": ("channels_last", "[sig(channels_last), channels_last.is_contiguous(memory_format=torch.channels_last)]"),
    "sparse_coo": ("sparse", "[sig(sparse.to_dense()), sparse.is_sparse]"),
    "generator": ("generator", "[sig(torch.rand(2, generator=generator))]"),
    "dataset": ("dataset", "[len(dataset), sig(dataset[3][0])]"),
    "dataloader": ("loader", "[sig(next(iter(loader))[0]), loader.batch_size]"),
    "zero_d": ("scalar", "[sig(scalar), float(scalar)]"),
    "frozen_parameter": ("no_grad_param", "sig(no_grad_param)"),
    "module_list_shared": ("module_list", "[module_list[2] is module_list[0], len(module_list)]"),
    "state_dict": ("state_dict model", "[list(state_dict), state_dict['0.weight'].data_ptr() == model[0].weight.data_ptr()]"),
    "buffer": ("buffers_module", "[sig(buffers_module.running), list(dict(buffers_module.named_buffers()))]"),
    "dtype_device": ("dtype device", "[str(dtype), str(device)]"),
}
