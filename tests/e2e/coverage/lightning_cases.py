"""Coverage cases: a Lightning module and its trainer, after a short fit."""
import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.set_num_threads(1)
torch.manual_seed(0)


class Regressor(L.LightningModule):
    def __init__(self, hidden=8, lr=0.05):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(3, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


X = torch.randn(32, 3)
Y = X.sum(dim=1, keepdim=True)
loader = DataLoader(TensorDataset(X, Y), batch_size=8)
module = Regressor()
trainer = L.Trainer(max_epochs=2, logger=False, enable_checkpointing=False,
                    enable_progress_bar=False, enable_model_summary=False)
trainer.fit(module, loader)
probe_x = torch.ones(2, 3)

CASES = {
    "module_forward": ("module", "[sig(module.net(probe_x).detach())]"),
    "hparams": ("module", "[dict(module.hparams)]"),
    "module_weights": ("module", "[sig(p.detach()) for p in module.parameters()]"),
    "trainer_state": ("trainer", "[trainer.current_epoch, trainer.global_step]"),
    "trainer_metrics": ("trainer", "[sorted(trainer.callback_metrics)]"),
    "loader": ("loader", "[len(loader), loader.batch_size]"),
}
