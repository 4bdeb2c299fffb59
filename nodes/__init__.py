"""nodegraph domain package: DragGAN node types and the GAN, drag and toyfaces code under them."""
