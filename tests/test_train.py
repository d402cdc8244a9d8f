"""The GAN engine: one step, the tricks in graph, and the option checks."""

import numpy as np
import pytest

import ganutils.data as data
import ganutils.gan as engine
import ganutils.options as gan_options
import ganutils.toy as toy
import ganutils.train as train

TINY = {"g_filters": 8, "d_filters": 8, "latent_dim": 16, "batch_size": 32, "grid_size": 4}


@pytest.fixture(scope="module")
def real_batch(mnist_subset):
    return data.scale_images(mnist_subset.images[:32])


def _weights(model):
    return [w.numpy() for w in model.trainable_weights]


def _changed(before, after):
    return [not np.array_equal(b, a) for b, a in zip(before, after, strict=True)]


@pytest.mark.parametrize("d_updates", gan_options.D_UPDATES)
def test_one_step_gives_finite_losses_and_moves_both_models(real_batch, d_updates):
    gan = train.build_gan(train.TrainConfig(**TINY, d_updates=d_updates))
    g_before, d_before = _weights(gan.generator), _weights(gan.discriminator)
    logs = gan.train_step(real_batch)
    values = {name: float(value) for name, value in logs.items()}
    assert set(values) >= {"d_loss", "d_loss_real", "d_loss_fake", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(v) for v in values.values()), values
    assert values["d_loss"] == pytest.approx(values["d_loss_real"] + values["d_loss_fake"], 1e-5)
    assert 0 < values["d_real"] < 1 and 0 < values["d_fake"] < 1
    assert values["d_grad_norm"] > 0 and values["g_grad_norm"] > 0
    assert all(_changed(g_before, _weights(gan.generator)))
    assert all(_changed(d_before, _weights(gan.discriminator)))


def _linear_gan(fresh_fakes):
    """A GAN of two Dense layers with SGD, small enough to follow by hand."""
    import keras

    generator = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    discriminator = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    generator.set_weights([np.array([[0.5, -1.0, 0.2], [0.3, 0.1, -0.4]]), np.zeros(3)])
    discriminator.set_weights([np.array([[0.7], [-0.2], [0.4]]), np.array([0.1])])
    gan = engine.GAN(generator, discriminator, latent_dim=2, fresh_fakes=fresh_fakes)
    sgd = engine.make_optimizer("sgd", 0.5)
    gan.compile(d_optimizer=sgd, g_optimizer=engine.make_optimizer("sgd", 0.5))
    return gan


def _by_hand(real, latents, lr=0.5):
    """D's update on the fakes, then G's update through the updated D on the same fakes."""
    import tensorflow as tf

    g_w = tf.Variable([[0.5, -1.0, 0.2], [0.3, 0.1, -0.4]])
    g_b = tf.Variable(tf.zeros(3))
    d_w, d_b = tf.Variable([[0.7], [-0.2], [0.4]]), tf.Variable([0.1])
    bce = tf.nn.sigmoid_cross_entropy_with_logits
    fakes = latents @ g_w + g_b
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(bce(labels=tf.ones((2, 1)), logits=real @ d_w + d_b))
        loss += tf.reduce_mean(bce(labels=tf.zeros((2, 1)), logits=fakes @ d_w + d_b))
    for variable, grad in zip((d_w, d_b), tape.gradient(loss, [d_w, d_b]), strict=True):
        variable.assign_sub(lr * grad)
    with tf.GradientTape() as tape:
        logits = (latents @ g_w + g_b) @ d_w + d_b  # the updated D
        loss = tf.reduce_mean(bce(labels=tf.ones((2, 1)), logits=logits))
    for variable, grad in zip((g_w, g_b), tape.gradient(loss, [g_w, g_b]), strict=True):
        variable.assign_sub(lr * grad)
    return [v.numpy() for v in (g_w, g_b)], [v.numpy() for v in (d_w, d_b)]


@pytest.mark.parametrize("fresh_fakes", [False, True])
def test_generator_is_updated_through_the_updated_discriminator(fresh_fakes):
    real = np.array([[1.0, 0.5, -0.5], [0.2, -0.3, 0.8]], np.float32)
    latents = np.array([[1.0, -1.0], [0.5, 2.0]], np.float32)
    gan = _linear_gan(fresh_fakes)
    gan.train_step((real, latents))  # fixed latents: both orders see the same fakes
    g_expected, d_expected = _by_hand(real, latents)
    # D moved by its own update only: G's update (whose tape was paused over
    # D's step) never touched D's weights...
    for got, want in zip(_weights(gan.discriminator), d_expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    # ... and G's gradient came through the updated D, not the one before.
    for got, want in zip(_weights(gan.generator), g_expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert int(gan.d_optimizer.iterations.numpy()) == 1
    assert int(gan.g_optimizer.iterations.numpy()) == 1


def test_the_default_order_runs_the_generator_once_per_step(real_batch):
    calls = {"reuse": 0, "fresh": 0}
    for fresh, key in ((False, "reuse"), (True, "fresh")):
        gan = train.build_gan(train.TrainConfig(**TINY, fresh_fakes=fresh))
        call = gan.generator.call

        def counting(*args, _call=call, _key=key, **kwargs):
            calls[_key] += 1
            return _call(*args, **kwargs)

        gan.generator.call = counting
        gan.train_step(real_batch)  # eager: every call counts once
    assert calls == {"reuse": 1, "fresh": 2}


def test_alternating_updates_step_the_discriminator_twice(real_batch):
    gan = train.build_gan(train.TrainConfig(**TINY, d_updates="alternating", d_steps=2))
    gan.train_step(real_batch)
    assert int(gan.d_optimizer.iterations.numpy()) == 4  # 2 D steps x (real, fake)
    assert int(gan.g_optimizer.iterations.numpy()) == 1


@pytest.mark.parametrize("loss", gan_options.GENERATOR_LOSSES)
def test_generator_losses_match_their_formulas(loss):
    import tensorflow as tf

    gan = train.build_gan(train.TrainConfig(**TINY, generator_loss=loss))
    logits = tf.constant([[-2.0], [0.5], [3.0]])
    d_fake = 1 / (1 + np.exp(-logits.numpy()))
    expected = {
        "non_saturating": -np.mean(np.log(d_fake)),  # minimise -log D(G(z))
        "minimax": np.mean(np.log(1 - d_fake)),  # minimise log(1 - D(G(z)))
    }[loss]
    assert float(gan.game.g_loss(logits)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(("noise", "n"), [(0.05, 200), (0.25, 200), (0.5, 200), (0.05, 70)])
def test_label_noise_flips_exactly_the_stated_share(noise, n):
    config = train.TrainConfig(**TINY, label_noise=noise, label_smoothing="none")
    targets = train.build_gan(config).targets(n)
    for flipped, hard in zip((t.numpy() for t in targets), (1.0, 0.0), strict=True):
        assert set(np.unique(flipped)) <= {0.0, 1.0}
        assert int(np.sum(flipped != hard)) == round(noise * n)  # 0.05 * 70 = 3.5 -> 4


def test_two_sided_smoothing_keeps_targets_in_their_ranges():
    gan = train.build_gan(train.TrainConfig(**TINY, label_smoothing="two_sided"))
    real, fake = (t.numpy() for t in gan.targets(1000))
    assert 0.7 <= real.min() < 0.75 and 1.15 < real.max() <= 1.2
    assert 0.0 <= fake.min() < 0.05 and 0.25 < fake.max() <= 0.3


def test_one_sided_smoothing_only_touches_real_targets():
    gan = train.build_gan(train.TrainConfig(**TINY, label_smoothing="one_sided"))
    real, fake = (t.numpy() for t in gan.targets(100))
    np.testing.assert_allclose(real, 0.9)
    np.testing.assert_array_equal(fake, 0.0)


def test_latent_distributions():
    gan = train.build_gan(train.TrainConfig(**{**TINY, "latent_dim": 64}))
    z = gan.sample_latent(2000).numpy()
    assert z.shape == (2000, 64)
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    gan = train.build_gan(train.TrainConfig(**TINY, latent_distribution="uniform"))
    z = gan.sample_latent(2000).numpy()
    assert -1 <= z.min() and z.max() <= 1 and abs(z.std() - 1 / np.sqrt(3)) < 0.02


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("d_updates", "both"),
        ("label_smoothing", "always"),
        ("label_noise", 1.5),
        ("generator_loss", "hinge"),
        ("d_steps", 0),
        ("latent_dim", 0),
        ("latent_distribution", "cauchy"),
        ("batch_size", 0),
        ("learning_rate", -1.0),
        ("beta_1", 1.0),
        ("max_digits", 0),
        ("downsample", "avgpool"),
        ("upsample", "pixel_shuffle"),
        ("d_activation", "elu"),
        ("kernel_initializer", "zeros"),
        ("image_range", "0-255"),
        ("optimizer", "adagrad"),
    ],
)
def test_bad_options_name_the_argument(field, value):
    with pytest.raises(ValueError, match=field):
        train.TrainConfig(**{**TINY, field: value})


def test_config_for_profile_takes_the_profile_scale():
    config = train.TrainConfig.for_profile("smoke")
    assert config.max_digits == 512 and config.epochs == 2
    assert train.TrainConfig.for_profile("smoke", epochs=5).epochs == 5


def test_make_dataset_batches_and_rejects_unscaled_images(mnist_subset):
    images = data.scale_images(mnist_subset.images[:100])
    batches = list(train.make_dataset(images, batch_size=32))
    assert [b.shape[0] for b in batches] == [32, 32, 32]  # the partial batch is dropped
    with pytest.raises(ValueError, match="scale_images"):
        train.make_dataset(mnist_subset.images[:100], batch_size=32)
    with pytest.raises(ValueError, match="batch_size"):
        train.make_dataset(images, batch_size=128)


def test_each_epoch_order_depends_on_the_seed_and_the_epoch_only():
    # Image i holds the number i, so a batch shows which images it drew.
    images = np.arange(40, dtype=np.float32).reshape(40, 1, 1, 1)

    def epochs(**kwargs):
        batches = [b.numpy().ravel() for b in train.make_dataset(images, batch_size=8, **kwargs)]
        return [np.concatenate(batches[i : i + 5]) for i in range(0, len(batches), 5)]

    straight = epochs(seed=3, epochs=4)
    assert all(sorted(epoch) == list(range(40)) for epoch in straight)  # each a permutation
    assert len({tuple(epoch) for epoch in straight}) == 4  # reshuffled every epoch
    resumed = epochs(seed=3, first_epoch=2, epochs=2)  # a run resumed after epoch 2
    np.testing.assert_array_equal(resumed, straight[2:])
    assert not np.array_equal(epochs(seed=4, epochs=1)[0], straight[0])
    unshuffled = epochs(shuffle=False, epochs=2)
    assert all(list(epoch) == list(range(40)) for epoch in unshuffled)
    forever = train.make_dataset(images, batch_size=8, seed=3, epochs=None)
    np.testing.assert_array_equal(
        np.concatenate(list(forever.take(20))).ravel(), np.ravel(straight)
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [({"first_epoch": -1}, "first_epoch"), ({"epochs": 0}, "epochs"), ({"epochs": 2.5}, "epochs")],
)
def test_make_dataset_rejects_bad_epochs(kwargs, match):
    images = np.zeros((16, 1, 1, 1), np.float32)
    with pytest.raises(ValueError, match=match):
        train.make_dataset(images, batch_size=8, **kwargs)


def test_simultaneous_step_updates_each_network_once(real_batch):
    gan = train.build_gan(train.TrainConfig(**TINY, simultaneous=True))
    g_before, d_before = _weights(gan.generator), _weights(gan.discriminator)
    logs = gan.train_step(real_batch)
    assert np.isfinite(float(logs["g_loss"])) and np.isfinite(float(logs["d_loss"]))
    assert int(gan.d_optimizer.iterations.numpy()) == 1
    assert int(gan.g_optimizer.iterations.numpy()) == 1
    assert all(_changed(g_before, _weights(gan.generator)))
    assert all(_changed(d_before, _weights(gan.discriminator)))
    with pytest.raises(ValueError, match="simultaneous"):
        train.build_gan(train.TrainConfig(**TINY, simultaneous=True, d_steps=2))


def test_ema_first_update_uses_the_warm_up_decay(real_batch):
    gan = train.build_gan(train.TrainConfig(**TINY, ema_decay=0.99))
    start = gan.generator.trainable_weights[0].numpy()
    gan.train_step(real_batch)
    after = gan.generator.trainable_weights[0].numpy()
    decay = 2 / 11  # min(0.99, (1 + t) / (10 + t)) at t = 1
    expected = decay * start + (1 - decay) * after
    np.testing.assert_allclose(gan.ema_generator.variables[0].numpy(), expected, atol=1e-6)
    assert not gan.ema_generator.trainable  # averaged, never trained


def test_ema_generator_averages_the_generator_weights(real_batch):
    gan = train.build_gan(train.TrainConfig(**TINY, ema_decay=0.9))
    start = [w.numpy() for w in gan.ema_generator.variables]
    np.testing.assert_array_equal(start[0], _weights(gan.generator)[0])  # starts equal
    for _ in range(3):
        gan.train_step(real_batch)
    kernel_start, kernel_g, kernel_ema = (
        start[0],
        gan.generator.trainable_weights[0].numpy(),
        (gan.ema_generator.variables[0].numpy()),
    )
    # The average moved from the start towards the generator, but lags behind it.
    assert 0 < np.abs(kernel_ema - kernel_start).max() < np.abs(kernel_g - kernel_start).max()
    assert gan.sampler is gan.ema_generator
    assert int(gan.ema_updates.numpy()) == 3
    assert train.build_gan(train.TrainConfig(**TINY)).sampler.name == "generator"
    with pytest.raises(ValueError, match="ema_decay"):
        train.build_gan(train.TrainConfig(**TINY, ema_decay=1.0))


def test_lr_decay_follows_a_cosine_to_the_final_ratio():
    config = train.TrainConfig(**TINY, learning_rate=1e-3, lr_decay=0.1, epochs=2)
    gan = train.build_gan(config, steps_per_epoch=5)
    schedule = gan.g_optimizer.learning_rate  # evaluated at the current step
    assert float(schedule) == pytest.approx(1e-3)
    gan.g_optimizer.iterations.assign(10)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(1e-4)
    gan.g_optimizer.iterations.assign(5)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(0.55e-3)
    constant = train.build_gan(config)  # no steps_per_epoch: constant rates
    constant.g_optimizer.iterations.assign(10)
    assert float(constant.g_optimizer.learning_rate) == pytest.approx(1e-3)


def test_ablation_alternatives_reach_the_models():
    config = train.TrainConfig(
        **TINY,
        downsample="maxpool",
        upsample="upsampling",
        d_activation="relu",
        kernel_initializer="glorot_uniform",
    )
    gan = train.build_gan(config)

    def kinds(model):
        names = set()
        for layer in model.layers:
            names.add(layer.__class__.__name__)
            if hasattr(layer, "layers"):
                names |= kinds(layer)
        return names

    d_layers, g_layers = kinds(gan.discriminator), kinds(gan.generator)
    assert "MaxPooling2D" in d_layers and "ReLU" in d_layers and "LeakyReLU" not in d_layers
    assert "UpSampling2D" in g_layers and "Conv2DTranspose" not in g_layers
    # A named initialiser is seeded: the same config builds the same weights.
    again = train.build_gan(config)
    for a, b in zip(gan.generator.weights, again.generator.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_unit_image_range_trains_in_zero_one_and_samples_in_signed_range(mnist_subset):
    from ganutils import data

    config = train.TrainConfig(**TINY, image_range="unit", ema_decay=None)
    gan = train.build_gan(config)
    images = data.scale_images(mnist_subset.images[:64])
    logs = gan.train_on_batch(images, return_dict=True)
    assert all(np.isfinite(v) for v in logs.values())
    latents = np.random.default_rng(0).normal(size=(8, config.latent_dim)).astype(np.float32)
    samples = np.asarray(gan.sampler(latents))
    assert samples.min() >= -1.0 and samples.max() <= 1.0
    np.testing.assert_allclose(samples, 2 * np.asarray(gan.generator(latents)) - 1, atol=1e-6)


def test_the_config_turns_into_engine_options_in_one_place():
    import dataclasses

    config_fields = {field.name for field in dataclasses.fields(train.TrainConfig)}
    assert set(engine.GANOptions.names()) <= config_fields  # every engine option is a field
    config = train.TrainConfig(**TINY, epochs=3, instance_noise=0.2, label_noise=0.1)
    options = config.gan_options(steps_per_epoch=10)
    assert options.instance_noise_steps == 30  # the default: the whole run
    assert options.label_noise == 0.1 and options.latent_dim == 16
    fixed = dataclasses.replace(config, instance_noise_steps=7)
    assert fixed.gan_options(steps_per_epoch=10).instance_noise_steps == 7
    gan = train.build_gan(config, steps_per_epoch=10)
    assert gan.options == options and gan.get_config() == options.to_dict()


def _declared_in_class_body(cls) -> set[str]:
    """The fields the class statement of ``cls`` declares itself (read from its source)."""
    import ast
    import inspect
    import textwrap

    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
    return {s.target.id for s in body if isinstance(s, ast.AnnAssign)}


@pytest.mark.parametrize(
    ("config", "recipe", "steps"),
    [(train.TrainConfig, train.RECIPE, {"steps_per_epoch": 1}), (toy.ToyConfig, toy.RECIPE, {})],
)
def test_the_configs_take_every_engine_option_from_its_one_declaration(config, recipe, steps):
    import dataclasses

    from ganutils import options

    declared = _declared_in_class_body(config)
    assert {"batch_size", "d_dropout"} <= declared  # the source reader finds the own fields
    optimiser = set(options.OptimizerOptions.names())  # declared once, for both configs
    assert not declared & (set(engine.GANOptions.names()) | optimiser)  # none a second time
    fields = {field.name: field for field in dataclasses.fields(config)}
    assert set(fields) == declared | set(engine.GANOptions.names()) | optimiser
    assert options.OptimizerOptions.of(config()).learning_rate == config().learning_rate
    for option in dataclasses.fields(engine.GANOptions):
        field = fields[option.name]
        assert field.default == recipe.get(option.name, option.default), option.name
        assert field.type == ("int" if option.name == "seed" else option.type), option.name
    assert set(recipe) <= set(engine.GANOptions.names())
    assert config().gan_options(**steps) == engine.GANOptions.of(config())


def test_a_new_engine_option_becomes_a_config_field_by_itself(monkeypatch):
    import dataclasses

    from ganutils import options

    extended = dataclasses.make_dataclass(
        "Extended",
        [("spectral_gap", "float", dataclasses.field(default=0.5))],
        bases=(options.GANOptions,),
        frozen=True,
    )
    monkeypatch.setattr(options, "GANOptions", extended)

    @dataclasses.dataclass(frozen=True)
    @options.option_fields({"latent_dim": 8}, after={"latent_dim": "epochs"})
    class Probe:
        epochs: int = 1
        batch_size: int = 2

    names = [field.name for field in dataclasses.fields(Probe)]
    assert names == ["epochs", *extended.names(), "batch_size"]
    assert Probe().spectral_gap == 0.5
    assert extended.of(Probe(spectral_gap=2.0)).spectral_gap == 2.0


def test_option_fields_refuses_a_second_declaration_and_a_missing_default():
    from ganutils import options

    with pytest.raises(TypeError, match=r"declares \['loss'\] itself"):

        @options.option_fields({"latent_dim": 8})
        class Twice:
            loss: str = "hinge"

    with pytest.raises(TypeError, match="latent_dim has no default"):

        @options.option_fields()
        class NoLatent:
            epochs: int = 1

    with pytest.raises(TypeError, match="options of GANOptions"):
        options.option_fields({"epochs": 3})
    with pytest.raises(TypeError, match="after the config's fields"):

        @options.option_fields({"latent_dim": 8}, after={"loss": "nowhere"})
        class Misplaced:
            epochs: int = 1

    with pytest.raises(TypeError, match="after no field of the config"):

        @options.option_fields(
            source=options.OptimizerOptions,
            after={"learning_rate": "optimizer", "optimizer": "learning_rate"},
        )
        class Circular:
            epochs: int = 1


def test_the_optimiser_fields_are_declared_once_and_placed_in_each_configs_order():
    import dataclasses

    from ganutils import options

    @dataclasses.dataclass(frozen=True)
    @options.option_fields(
        {"beta_1": 0.0},
        source=options.OptimizerOptions,
        after={"learning_rate": "epochs", "optimizer": "batch_size"},
    )
    class Probe:
        epochs: int = 1
        batch_size: int = 2

    names = [field.name for field in dataclasses.fields(Probe)]
    assert names == [
        "epochs",
        "learning_rate",
        "d_learning_rate",
        "batch_size",
        "optimizer",
        "beta_1",
        "beta_2",
    ]
    assert Probe().beta_1 == 0.0 and Probe().learning_rate == 2e-4
    for bad, match in (
        ({"learning_rate": 0.0}, "learning_rate must be positive"),
        ({"beta_2": 1.0}, r"beta_2 must lie in \[0, 1\)"),
        ({"optimizer": "adagrad"}, "optimizer must be one of"),
    ):
        with pytest.raises(ValueError, match=match):
            options.OptimizerOptions.of(Probe(**bad))
        with pytest.raises(ValueError, match=match):
            toy.ToyConfig(**bad)
        with pytest.raises(ValueError, match=match):
            train.TrainConfig(**bad)


def test_d_batch_norm_takes_batch_norm_out_of_d_alone_and_refuses_non_bools():
    """``d_batch_norm=False``: the papers' critics, with the recipe's generator unchanged."""

    def normalised(model):
        return [
            layer
            for layer in model._flatten_layers()
            if "BatchNormalization" in type(layer).__name__
        ]

    gan = train.build_gan(train.TrainConfig(d_batch_norm=False))
    assert not normalised(gan.discriminator) and normalised(gan.generator)
    default = train.build_gan(train.TrainConfig())
    assert normalised(default.discriminator) and normalised(default.generator)
    assert train.discriminator_batch_norm(train.TrainConfig(batch_norm=False)) is False
    with pytest.raises(ValueError, match="d_batch_norm must be True, False or None"):
        train.TrainConfig(d_batch_norm=1)
