"""Built-in upsamplers: each doubles height and width."""

from ganforge.plugin import hookimpl


@hookimpl
def register_upsamplers(register):
    register("transposed-conv", "ganforge.builtins.upsamplers.layers:TransposedConv",
             "Strided transposed convolution (learned upsampling; can leave checkerboard artifacts)")
    register("resize-conv", "ganforge.builtins.upsamplers.layers:ResizeConv",
             "Nearest-neighbour resize then stride-1 convolution (no checkerboard artifacts)")
    register("pixel-shuffle", "ganforge.builtins.upsamplers.layers:PixelShuffle",
             "Sub-pixel convolution: a stride-1 convolution to 4x the channels, rearranged to 2x the size")
