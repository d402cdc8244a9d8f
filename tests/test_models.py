"""ganutils.models: the DCGAN blocks and the book's MNIST G and D."""

import keras
import numpy as np
import pytest
from keras import layers

import ganutils.models as models


def _counts(model: keras.Model) -> tuple[int, int, int]:
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    return model.count_params(), trainable, frozen


def _on_input(block: keras.Model, shape: tuple[int, ...]) -> keras.Model:
    return keras.Sequential([keras.Input(shape), block])


def _kernels(model: keras.Model) -> dict[str, np.ndarray]:
    return {w.path: w.numpy() for w in model.weights if w.path.endswith("kernel")}


def test_dcgan_initializer_is_normal_mean_0_std_0_02():
    init = models.dcgan_initializer(seed=0)
    assert isinstance(init, keras.initializers.RandomNormal)
    assert init.get_config()["mean"] == 0.0 and init.get_config()["stddev"] == 0.02
    values = np.asarray(init((200, 200)))
    # 40,000 draws: standard errors 1e-4 (mean) and 7e-5 (std).
    assert abs(values.mean()) < 5e-4
    assert values.std() == pytest.approx(0.02, abs=5e-4)
    assert np.abs(values).max() > 0.06  # a plain normal, not truncated at 2 std


def test_dcgan_initializer_repeats_with_a_seed():
    first = np.asarray(models.dcgan_initializer(seed=3)((5, 5)))
    again = np.asarray(models.dcgan_initializer(seed=3)((5, 5)))
    other = np.asarray(models.dcgan_initializer(seed=4)((5, 5)))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_plain_strided_down_block_matches_the_dcgan_figure():
    block = models.down_block(64, kernel_size=3, batch_norm=False, activation=None)
    model = _on_input(block, (64, 64, 3))
    assert model.output_shape == (None, 32, 32, 64)
    assert _counts(model) == (1792, 1792, 0)  # 3 * 3 * 3 * 64 weights + 64 biases
    conv = block.layers[0]
    assert isinstance(conv, layers.Conv2D) and conv.strides == (2, 2)
    assert not any(isinstance(layer, layers.MaxPooling2D) for layer in block.layers)


def test_down_block_puts_batch_norm_between_conv_and_leaky_relu():
    block = models.down_block(64, kernel_size=3)
    model = _on_input(block, (64, 64, 3))
    assert model.output_shape == (None, 32, 32, 64)
    # 1,792 conv + 4 x 64 BN: gamma and beta train, the moving mean and variance do not.
    assert _counts(model) == (2048, 1920, 128)
    kinds = [type(layer) for layer in block.layers]
    assert kinds == [layers.Conv2D, layers.BatchNormalization, layers.LeakyReLU]
    assert block.layers[2].negative_slope == pytest.approx(0.2)


def test_down_block_kernel_is_drawn_from_the_dcgan_normal():
    keras.utils.set_random_seed(0)
    model = _on_input(models.down_block(64, kernel_size=3), (64, 64, 3))
    kernel = model.layers[0].layers[0].kernel.numpy()
    assert kernel.shape == (3, 3, 3, 64)
    # Keras' default glorot_uniform would give std 0.058 here.
    assert abs(kernel.mean()) < 2e-3
    assert kernel.std() == pytest.approx(0.02, abs=1.5e-3)


def test_down_block_options_add_dropout_and_max_pooling():
    block = models.down_block(8, dropout=0.3, downsample="maxpool")
    model = _on_input(block, (16, 16, 1))
    assert model.output_shape == (None, 8, 8, 8)
    assert block.layers[0].strides == (1, 1)
    assert any(isinstance(layer, layers.MaxPooling2D) for layer in block.layers)
    assert isinstance(block.layers[-1], layers.Dropout) and block.layers[-1].rate == 0.3


def test_plain_transposed_up_block_matches_the_dcgan_figure():
    block = models.up_block(64, batch_norm=False, activation=None)
    model = _on_input(block, (64, 64, 3))
    assert model.output_shape == (None, 128, 128, 64)
    assert _counts(model) == (3136, 3136, 0)  # 4 * 4 * 64 * 3 weights + 64 biases
    assert isinstance(block.layers[0], layers.Conv2DTranspose)
    assert block.layers[0].strides == (2, 2)


def test_up_block_default_is_transposed_conv_batch_norm_leaky_relu():
    block = models.up_block(16)
    model = _on_input(block, (7, 7, 8))
    assert model.output_shape == (None, 14, 14, 16)
    kinds = [type(layer) for layer in block.layers]
    assert kinds == [layers.Conv2DTranspose, layers.BatchNormalization, layers.LeakyReLU]


def test_generator_maps_latent_vectors_to_tanh_images():
    generator = models.build_generator(latent_dim=16, filters=16, seed=0)
    assert generator.input_shape == (None, 16)
    assert generator.output_shape == (None, 28, 28, 1)
    z = np.random.default_rng(0).standard_normal((8, 16)).astype(np.float32)
    images = generator(z, training=False).numpy()
    assert images.shape == (8, 28, 28, 1)
    assert np.all(images > -1) and np.all(images < 1)
    assert generator.layers[-1].get_config()["activation"] == "tanh"
    # DCGAN: no batch normalisation on the generator's output layer.
    assert not isinstance(generator.layers[-2].layers[-1], layers.BatchNormalization)


def test_discriminator_maps_images_to_one_unbounded_logit():
    discriminator = models.build_discriminator(filters=16, seed=0)
    assert discriminator.input_shape == (None, 28, 28, 1)
    assert discriminator.output_shape == (None, 1)
    assert discriminator.layers[-1].get_config()["activation"] == "linear"
    # DCGAN: no batch normalisation on the discriminator's input layer.
    first_block = discriminator.layers[1]
    assert not any(isinstance(layer, layers.BatchNormalization) for layer in first_block.layers)


@pytest.mark.parametrize(
    "build",
    [
        lambda: models.build_generator(latent_dim=32, filters=32, seed=5),
        lambda: models.build_discriminator(filters=32, seed=5),
    ],
    ids=["generator", "discriminator"],
)
def test_every_kernel_is_initialised_from_n_0_0_02_and_differs(build):
    kernels = _kernels(build())
    assert len(kernels) >= 3
    for path, kernel in kernels.items():
        tolerance = 4 * 0.02 / np.sqrt(2 * kernel.size) + 1e-4
        assert abs(kernel.mean()) < 4 * 0.02 / np.sqrt(kernel.size) + 1e-4, path
        assert kernel.std() == pytest.approx(0.02, abs=tolerance), path
    flat = [k.ravel() for k in kernels.values()]
    for i in range(len(flat)):
        for j in range(i + 1, len(flat)):
            n = min(flat[i].size, flat[j].size)
            assert not np.array_equal(flat[i][:n], flat[j][:n]), "two kernels share their values"


def test_a_seed_makes_the_models_repeatable():
    first = models.build_discriminator(filters=8, seed=11).get_weights()
    again = models.build_discriminator(filters=8, seed=11).get_weights()
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: models.down_block(0), "filters"),
        (lambda: models.down_block(8, kernel_size=0), "kernel_size"),
        (lambda: models.down_block(8, activation="elu"), "activation"),
        (lambda: models.down_block(8, dropout=1.0), "dropout"),
        (lambda: models.down_block(8, downsample="average"), "downsample"),
        (lambda: models.up_block(8, strides=0), "strides"),
        (lambda: models.up_block(8, upsample="bilinear"), "upsample"),
        (lambda: models.build_generator(latent_dim=0), "latent_dim"),
        (lambda: models.build_generator(output_activation="relu"), "output_activation"),
        (lambda: models.build_discriminator(filters=1), "filters"),
        (lambda: models.build_discriminator(l2=-1e-3), "l2"),
        (lambda: models.build_generator(l1=-1e-3), "l1"),
        (lambda: models.build_generator(noise=-0.1), "noise"),
        (lambda: models.up_block(8, noise=-0.1), "noise"),
    ],
)
def test_bad_options_raise_value_errors_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# -- Part V options (see tests/test_stabilizers.py for the components) -------------------


def test_stabiliser_options_default_off_and_keep_the_parameter_counts():
    plain, again = models.build_discriminator(), models.build_discriminator(spectral_norm=False)
    assert _counts(plain) == _counts(again)
    assert not plain.losses and not models.build_generator().losses


def test_spectral_norm_wraps_every_convolution_and_the_logit():
    discriminator = models.build_discriminator(filters=8, batch_norm=False, spectral_norm=True)
    wrapped = [
        layer
        for layer in discriminator._flatten_layers()
        if isinstance(layer, layers.SpectralNormalization)
    ]
    assert len(wrapped) == 3
    assert discriminator.get_layer("logit").__class__ is layers.SpectralNormalization
    # Each wrapper adds its power-iteration vector u (one value per output unit), frozen.
    plain = models.build_discriminator(filters=8, batch_norm=False)
    assert _counts(discriminator)[1] == _counts(plain)[1]
    assert _counts(discriminator)[2] == _counts(plain)[2] + 4 + 8 + 1


def test_minibatch_stddev_adds_one_channel_before_the_logit():
    discriminator = models.build_discriminator(filters=8, minibatch_stddev=True)
    assert discriminator.get_layer("minibatch_stddev").output.shape == (None, 7, 7, 9)
    assert discriminator.get_layer("logit").kernel.shape == (7 * 7 * 9, 1)


def test_weight_penalties_cover_every_kernel():
    generator = models.build_generator(16, filters=8, l1=1e-4, l2=1e-3)
    kernels = [w for w in generator.trainable_weights if w.path.endswith("kernel")]
    assert len(generator.losses) == len(kernels) == 3


def test_generator_noise_sits_after_each_hidden_activation():
    generator = models.build_generator(16, filters=8, noise=0.1)
    noise = [
        layer for layer in generator._flatten_layers() if isinstance(layer, layers.GaussianNoise)
    ]
    assert len(noise) == 2 and all(layer.stddev == 0.1 for layer in noise)
