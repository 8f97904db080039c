"""Coverage cases: matplotlib (a training-curve figure, changed in place)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

losses = [1.0, 0.7, 0.5, 0.4]
fig, ax = plt.subplots(figsize=(4, 3))
(line,) = ax.plot(losses, label="train")
line.set_color("red")
ax.set_title("loss")
ax.set_yscale("log")
legend = ax.legend()
fig2, axes = plt.subplots(1, 2)
image = axes[0].imshow(np.arange(6.0).reshape(2, 3), cmap="viridis")
bars = axes[1].bar(["a", "b"], [3, 5])
colormap = plt.get_cmap("magma")
norm = matplotlib.colors.Normalize(vmin=0, vmax=2)
rc_value = matplotlib.rcParams["lines.linewidth"]

CASES = {
    "figure_holds_axes": ("fig ax", "[ax in fig.axes, ax.figure is fig, len(fig.axes)]"),
    "line_in_axes": ("line ax", "[line in ax.lines, line.get_color(), list(line.get_ydata())]"),
    "axes_settings": ("ax", "[ax.get_title(), ax.get_yscale(), ax.get_legend() is not None]"),
    "legend": ("legend ax", "[legend is ax.get_legend(), [t.get_text() for t in legend.get_texts()]]"),
    "subplots_array": ("fig2 axes", "[list(axes) == fig2.axes, axes.shape]"),
    "image": ("image axes", "[image in axes[0].images, sig(image.get_array().data)]"),
    "bar_container": ("bars axes", "[[b.get_height() for b in bars], bars[0] in axes[1].patches]"),
    "colormap": ("colormap", "[colormap.name, list(colormap(0.5))]"),
    "normalize": ("norm", "[norm(1.0), norm.vmax]"),
    "rc_value": ("rc_value", "[rc_value]"),
}
