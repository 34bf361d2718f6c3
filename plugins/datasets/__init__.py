"""Built-in datasets."""

from ganforge.plugin import hookimpl


@hookimpl
def register_datasets(register):
    register("mnist-5k", "ganforge.builtins.datasets.mnist:bundled_mnist",
             "5,000 real MNIST digits shipped with ganforge (offline default; 4,500 train / 500 test)")
    register("mnist", "ganforge.builtins.datasets.mnist:torchvision_mnist",
             "Full MNIST (60,000 + 10,000) through torchvision; downloads once, needs the network")
    register("fashion-mnist", "ganforge.builtins.datasets.mnist:torchvision_fashion_mnist",
             "Fashion-MNIST (28x28 clothing, 10 classes) through torchvision; needs the network once")
    register("cifar10", "ganforge.builtins.datasets.mnist:torchvision_cifar10",
             "CIFAR-10 (32x32 colour, 10 classes) through torchvision; needs the network once")
    register("image-folder", "ganforge.builtins.datasets.folder:ImageFolder",
             "Any folder of images (--data-root); subfolders become class labels")
    register("unpaired-digits", "ganforge.builtins.datasets.unpaired:unpaired_digits",
             "Two unpaired domains from the bundled digits: digits (A) and outlined digits (B); offline")
    register("unpaired-folder", "ganforge.builtins.datasets.unpaired:unpaired_folder",
             "Two unpaired domains in the CycleGAN layout: trainA/ trainB/ testA/ testB/ (--data-root), prepared once")
    register("paired-digits", "ganforge.builtins.datasets.paired:paired_digits",
             "Aligned pairs from the bundled digits: each digit's outline (A) and the digit (B); offline")
    register("paired-folder", "ganforge.builtins.datasets.paired:paired_folder",
             "Aligned pairs (--data-root): train/ test/ of A|B side-by-side files, or A/ B/ matched by name")
    register("digit-captions", "ganforge.builtins.datasets.captions:digit_captions",
             "Bundled digits with generated captions (class, stroke thickness, slant); offline")
    register("caption-folder", "ganforge.builtins.datasets.captions:caption_folder",
             "Images with one-caption-per-line .txt files (CUB layout: images/ and text/)")
