"""Coverage cases: PIL images (an augmentation pipeline's inputs, changed in place)."""
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

rgb = Image.fromarray((np.arange(48).reshape(4, 4, 3) * 5).astype(np.uint8), "RGB")
rgb.putpixel((0, 0), (255, 0, 0))
gray = rgb.convert("L")
draw_target = Image.new("RGB", (8, 8), "white")
ImageDraw.Draw(draw_target).rectangle([1, 1, 4, 4], fill="blue")
palette = rgb.convert("P")
rgba = rgb.convert("RGBA")
rgba.info["note"] = "augmented"
blurred = rgb.filter(ImageFilter.BoxBlur(1))
float_img = Image.fromarray(np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4), "F")
batch = [rgb, gray]

CASES = {
    "rgb_image": ("rgb", "[rgb.mode, rgb.size, sig(np.asarray(rgb))]"),
    "grayscale": ("gray", "[gray.mode, sig(np.asarray(gray))]"),
    "drawn": ("draw_target", "[sig(np.asarray(draw_target))]"),
    "palette": ("palette", "[palette.mode, len(palette.getpalette()), sig(np.asarray(palette))]"),
    "rgba_info": ("rgba", "[rgba.mode, rgba.info.get('note'), sig(np.asarray(rgba))]"),
    "filtered": ("blurred", "[sig(np.asarray(blurred))]"),
    "float_mode": ("float_img", "[float_img.mode, sig(np.asarray(float_img))]"),
    "list_shares_images": ("batch rgb gray", "[batch[0] is rgb, batch[1] is gray]"),
}
