"""ganutils.stabilizers and the engine's stabiliser options: each promise, checked."""

import dataclasses

import keras
import numpy as np
import pytest
from keras import layers

import ganutils.data as data
import ganutils.gan as engine
import ganutils.models as models
import ganutils.options as gan_options
import ganutils.stabilizers as st
import ganutils.studies as studies
import ganutils.train as train

TINY = {"g_filters": 8, "d_filters": 8, "latent_dim": 16, "batch_size": 32, "grid_size": 4}


@pytest.fixture(scope="module")
def real_batch(mnist_subset):
    return data.scale_images(mnist_subset.images[:32])


def _linear_critic(weight: np.ndarray) -> keras.Model:
    """``x -> <weight, x>``: its gradient is ``weight`` everywhere."""
    inputs = keras.Input(weight.shape)
    flat = layers.Flatten()(inputs)
    dense = layers.Dense(1, use_bias=False)
    model = keras.Model(inputs, dense(flat))
    dense.kernel.assign(weight.reshape(-1, 1))
    return model


# -- Wasserstein losses, clipping, gradient penalty ----------------------------------------


def test_wasserstein_losses_match_their_formulas():
    real, fake = np.array([[1.0], [3.0]]), np.array([[-1.0], [0.0]])
    loss_real, loss_fake = st.wasserstein_critic_losses(real, fake)
    assert (float(loss_real), float(loss_fake)) == pytest.approx((-2.0, -0.5))
    assert float(loss_real + loss_fake) == pytest.approx(-0.5 - 2.0)
    assert float(st.wasserstein_generator_loss(fake)) == pytest.approx(0.5)


def test_interpolation_weights_are_uniform_in_0_1_per_sample(rng):
    real = np.ones((4000, 2, 2, 1), np.float32)
    fake = np.zeros_like(real)
    mixed, eps = st.interpolate(real, fake, seed=0)
    eps, mixed = np.asarray(eps), np.asarray(mixed)
    assert eps.shape == (4000, 1, 1, 1)
    assert eps.min() >= 0 and eps.max() <= 1  # a normal draw would leave [0, 1]
    assert abs(eps.mean() - 0.5) < 0.02 and abs(eps.std() - 1 / np.sqrt(12)) < 0.02
    np.testing.assert_allclose(mixed, np.broadcast_to(eps, mixed.shape), atol=1e-6)


def test_gradient_penalty_is_zero_for_a_unit_norm_gradient_and_positive_otherwise(rng):
    real = rng.normal(size=(16, 4, 4, 1)).astype(np.float32)
    fake = rng.normal(size=(16, 4, 4, 1)).astype(np.float32)
    direction = rng.normal(size=(4, 4, 1)).astype(np.float32)
    unit = direction / np.linalg.norm(direction)
    assert float(st.gradient_penalty(_linear_critic(unit), real, fake, seed=0)) < 1e-6
    # Gradient norm 2 everywhere: (2 - 1)^2 = 1; norm 0.5: 0.25.
    assert float(st.gradient_penalty(_linear_critic(2 * unit), real, fake)) == pytest.approx(
        1, 1e-4
    )
    half = st.gradient_penalty(_linear_critic(0.5 * unit), real, fake)
    assert float(half) == pytest.approx(0.25, 1e-4)


def test_gradient_penalty_has_a_finite_gradient_where_the_critic_is_flat(rng):
    import tensorflow as tf

    critic = _linear_critic(np.zeros((4, 4, 1), np.float32))  # gradient 0: sqrt(0) in the norm
    real = rng.normal(size=(8, 4, 4, 1)).astype(np.float32)
    with tf.GradientTape() as tape:
        penalty = st.gradient_penalty(critic, real, real * 0)
    gradients = tape.gradient(penalty, critic.trainable_variables)
    assert float(penalty) == pytest.approx(1.0, 1e-5)
    assert all(np.all(np.isfinite(g.numpy())) for g in gradients)


def test_clip_weights_keeps_every_weight_inside_the_bound(rng):
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4), layers.Dense(1)])
    for variable in model.trainable_variables:
        variable.assign(rng.normal(0, 1, size=variable.shape))
    st.clip_weights(model, 0.01)
    for variable in model.trainable_variables:
        assert np.abs(variable.numpy()).max() <= 0.01 + 1e-9
    with pytest.raises(ValueError, match="bound"):
        st.clip_weights(model, 0)


def test_wgan_training_keeps_the_critic_clipped(real_batch):
    gan = train.build_gan(train.TrainConfig(**TINY, loss="wgan", d_steps=2, batch_norm=False))
    assert gan.options.clip_bound == 0.01  # the paper's c when none is given
    logs = gan.train_step(real_batch)
    assert all(np.isfinite(float(v)) for v in logs.values())
    for variable in gan.discriminator.trainable_variables:
        assert np.abs(variable.numpy()).max() <= 0.01 + 1e-9
    # d_loss is the critic loss: mean D(fake) - mean D(real).
    assert float(logs["d_loss"]) == pytest.approx(
        float(logs["d_loss_real"]) + float(logs["d_loss_fake"]), abs=1e-6
    )


# -- Spectral normalisation ---------------------------------------------------------------


def _wrapped(model):
    found = []
    for layer in model._flatten_layers():
        if isinstance(layer, layers.SpectralNormalization):
            found.append(layer)
    return found


def test_spectrally_normalised_layers_have_largest_singular_value_one(rng):
    discriminator = models.build_discriminator(
        filters=8, batch_norm=False, spectral_norm=True, seed=0
    )
    wrapped = _wrapped(discriminator)
    assert len(wrapped) == 3  # two convolutions and the logit
    before = [st.largest_singular_value(layer) for layer in wrapped]
    images = rng.uniform(-1, 1, size=(4, 28, 28, 1)).astype(np.float32)
    for _ in range(200):  # each training call runs one power iteration and renormalises
        discriminator(images, training=True)
    after = [st.largest_singular_value(layer) for layer in wrapped]
    assert not np.allclose(before, 1.0, atol=0.05)
    np.testing.assert_allclose(after, 1.0, atol=0.02)


def test_spectral_normalize_wraps_every_dense_layer_of_a_copy(rng):
    model = keras.Sequential([keras.Input((2,)), layers.Dense(16), layers.ReLU(), layers.Dense(1)])
    normalised = st.spectral_normalize(model)
    wrapped = _wrapped(normalised)
    assert len(wrapped) == 2
    points = rng.normal(size=(8, 2)).astype(np.float32)
    for _ in range(30):
        normalised(points, training=True)
    np.testing.assert_allclose([st.largest_singular_value(w) for w in wrapped], 1.0, atol=0.02)


# -- Instance noise ------------------------------------------------------------------------


def test_instance_noise_decays_linearly_to_zero_as_documented():
    stds = [float(st.instance_noise_std(step, 0.2, 100)) for step in (0, 25, 50, 100, 150)]
    np.testing.assert_allclose(stds, [0.2, 0.15, 0.1, 0.0, 0.0], atol=1e-7)
    for bad in ({"initial": 0.0}, {"anneal_steps": 0}, {"anneal_steps": 1.5}):
        args = {"initial": 0.2, "anneal_steps": 100, **bad}
        with pytest.raises(ValueError, match=next(iter(bad))):
            st.instance_noise_std(0, **args)


def test_the_gan_adds_annealed_noise_to_what_d_sees(real_batch):
    gan = train.build_gan(
        train.TrainConfig(**TINY, instance_noise=0.5, instance_noise_steps=4, ema_decay=None)
    )
    zeros = np.zeros((64, 28, 28, 1), np.float32)
    assert np.asarray(gan.d_view(zeros, real=True)).std() == pytest.approx(0.5, rel=0.05)
    assert np.asarray(gan.d_view(zeros)).std() == pytest.approx(0.5, rel=0.05)  # fakes too
    for _ in range(2):
        gan.train_step(real_batch)
    assert np.asarray(gan.d_view(zeros)).std() == pytest.approx(0.25, rel=0.05)
    for _ in range(2):
        gan.train_step(real_batch)
    assert np.asarray(gan.d_view(zeros)).std() == 0.0
    with pytest.raises(ValueError, match="instance_noise_steps"):
        train.build_gan(train.TrainConfig(**TINY, instance_noise=0.5))  # no run length known


# -- Differentiable augmentation -----------------------------------------------------------


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_diff_augment_keeps_shape_and_range_and_passes_gradients(rng, policy):
    import tensorflow as tf

    images = tf.constant(rng.uniform(-1, 1, size=(8, 28, 28, 1)).astype(np.float32))
    with tf.GradientTape() as tape:
        tape.watch(images)
        augmented = st.diff_augment(images, policy, seed=1)
        total = tf.reduce_sum(augmented)
    gradient = tape.gradient(total, images).numpy()
    out = augmented.numpy()
    assert out.shape == images.shape and out.dtype == np.float32
    assert out.min() >= -1 and out.max() <= 1
    assert not np.allclose(out, images.numpy())
    assert np.all(np.isfinite(gradient)) and np.abs(gradient).sum() > 0


def test_cutout_blanks_a_half_size_square_and_translation_shifts_whole_pixels():
    ones = np.ones((4, 28, 28, 1), np.float32)
    cut = np.asarray(st.diff_augment(ones, "cutout", seed=0))
    assert [int(np.sum(image == -1)) for image in cut] == [14 * 14] * 4
    dot = -np.ones((1, 28, 28, 1), np.float32)
    dot[0, 14, 14, 0] = 1
    moved = np.asarray(st.diff_augment(np.repeat(dot, 16, 0), "translation", seed=0))
    rows, cols = np.nonzero(moved[..., 0] == 1)[1:]
    assert np.all(np.abs(rows - 14) <= 4) and np.all(np.abs(cols - 14) <= 4)
    assert len(rows) == 16  # every shifted dot survives (shift 3 << 14)
    assert set(np.unique(moved)) == {-1.0, 1.0}  # whole pixels, background fill


def test_diff_augment_rejects_unknown_policies():
    with pytest.raises(ValueError, match="policy"):
        st.diff_augment(np.zeros((1, 4, 4, 1), np.float32), "rotate")
    with pytest.raises(ValueError, match="augment_policy"):
        train.TrainConfig(**TINY, augment="both", augment_policy="color,rotate")


@pytest.mark.parametrize(("augment", "fakes_augmented"), [("both", True), ("real_only", False)])
def test_augmentation_reaches_the_branches_it_names(rng, augment, fakes_augmented):
    gan = train.build_gan(train.TrainConfig(**TINY, augment=augment))
    images = rng.uniform(-1, 1, size=(8, 28, 28, 1)).astype(np.float32)
    assert not np.allclose(np.asarray(gan.d_view(images, real=True)), images)  # real: always
    assert (not np.allclose(np.asarray(gan.d_view(images)), images)) == fakes_augmented
    plain = train.build_gan(train.TrainConfig(**TINY))
    np.testing.assert_array_equal(np.asarray(plain.d_view(images, real=True)), images)


def test_both_branch_augmentation_passes_the_generator_gradient(real_batch):
    gan = train.build_gan(train.TrainConfig(**TINY, augment="both"))
    logs = gan.train_step(real_batch)
    assert np.isfinite(float(logs["g_loss"])) and float(logs["g_grad_norm"]) > 0


# -- Minibatch standard deviation and feature matching ------------------------------------


def test_minibatch_stddev_appends_the_mean_feature_std(rng, tmp_path):
    features = rng.normal(0, 2, size=(64, 7, 7, 4)).astype(np.float32)
    out = np.asarray(st.MinibatchStddev()(features))
    assert out.shape == (64, 7, 7, 5)
    np.testing.assert_allclose(out[..., :4], features)
    expected = np.mean(np.std(features, axis=0))
    np.testing.assert_allclose(out[..., 4], expected, rtol=1e-4)
    same = np.repeat(features[:1], 8, 0)  # a collapsed batch: no variety
    assert np.asarray(st.MinibatchStddev()(same))[..., 4].max() < 1e-3
    vectors = np.asarray(st.MinibatchStddev()(features.reshape(64, -1)))
    assert vectors.shape == (64, 7 * 7 * 4 + 1)
    # Serialisable: a model holding the layer saves and loads.
    discriminator = models.build_discriminator(filters=8, minibatch_stddev=True, seed=0)
    path = tmp_path / "d.keras"
    discriminator.save(path)
    loaded = keras.models.load_model(path)
    images = rng.uniform(-1, 1, size=(4, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(loaded(images), discriminator(images), atol=1e-5)
    assert st.MinibatchStddev(epsilon=1e-6).get_config()["epsilon"] == 1e-6


def test_feature_matching_loss_is_zero_only_for_matching_means(rng):
    real = rng.normal(size=(32, 10)).astype(np.float32)
    assert float(st.feature_matching_loss(real, real[::-1])) == pytest.approx(0, abs=1e-10)
    assert float(st.feature_matching_loss(real, real + 1)) == pytest.approx(1.0, 1e-5)
    extractor = st.feature_extractor(models.build_discriminator(filters=8, seed=0))
    assert extractor.output.shape == (None, 7 * 7 * 8)
    with pytest.raises(ValueError, match="discriminator"):
        st.feature_extractor(layers.Dense(1))


# -- Every GAN option trains; bad values name their argument -------------------------------

OPTIONS = [
    {"loss": "wgan", "d_steps": 2, "batch_norm": False, "optimizer": "rmsprop"},
    {"loss": "wgan_gp", "d_steps": 2, "batch_norm": False},
    {"loss": "wgan_gp", "d_updates": "mixed", "batch_norm": False, "gp_weight": 5.0},
    {"instance_noise": 0.1, "instance_noise_steps": 10},
    {"augment": "both"},
    {"augment": "real_only", "augment_policy": "translation"},
    {"feature_matching": True},
    {"optimizer": "rmsprop", "d_learning_rate": 1e-3},
    {"spectral_norm": True, "batch_norm": False},
    {"minibatch_stddev": True},
    {"d_dropout": 0.3, "g_dropout": 0.3},
    {"g_noise": 0.1},
    {"l1": 1e-4, "l2": 1e-3},
    {"clip_value": 0.05},
]


@pytest.mark.parametrize(
    "options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items())
)
def test_each_stabiliser_option_trains_with_finite_losses(real_batch, options):
    gan = train.build_gan(train.TrainConfig(**TINY, **options))
    g_before = [w.numpy() for w in gan.generator.trainable_weights]
    logs = {name: float(value) for name, value in gan.train_step(real_batch).items()}
    assert all(np.isfinite(v) for v in logs.values()), logs
    assert logs["d_grad_norm"] > 0 and logs["g_grad_norm"] > 0
    moved = [
        not np.array_equal(b, a.numpy())
        for b, a in zip(g_before, gan.generator.trainable_weights, strict=True)
    ]
    assert all(moved)
    config = gan.get_config()
    for key in ("loss", "augment", "feature_matching", "clip_value", "instance_noise"):
        assert key in config


def test_defaults_leave_the_recipe_untouched():
    config = train.TrainConfig(**TINY)
    gan = train.build_gan(config)
    options = gan.options
    assert (options.loss, options.augment, options.instance_noise, options.clip_bound) == (
        "gan",
        None,
        None,
        None,
    )
    assert not options.feature_matching and gan.feature_model is None
    assert not hasattr(gan, "loss") or not isinstance(gan.loss, str)  # Keras' own attribute
    assert isinstance(gan.d_optimizer, keras.optimizers.Adam)
    assert not gan.discriminator.losses and not gan.generator.losses  # no weight penalties
    assert not _wrapped(gan.discriminator)


def test_weight_penalties_reach_the_networks_losses():
    discriminator = models.build_discriminator(filters=8, l2=1e-2, seed=0)
    kernels = [w for w in discriminator.trainable_weights if w.path.endswith("kernel")]
    expected = sum(1e-2 * float(np.sum(np.square(k.numpy()))) for k in kernels)
    assert float(sum(discriminator.losses)) == pytest.approx(expected, rel=1e-4)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("loss", "hinged"),
        ("gp_weight", 0.0),
        ("clip_value", -0.01),
        ("instance_noise", -0.1),
        ("instance_noise_steps", 0),
        ("augment", "always"),
        ("augment_policy", "rotate"),
        ("optimizer", "adagrad"),
        ("d_dropout", 1.0),
        ("g_dropout", -0.1),
        ("g_noise", -1.0),
        ("l1", -1e-3),
        ("l2", -1e-3),
    ],
)
def test_bad_stabiliser_options_name_the_argument(field, value):
    with pytest.raises(ValueError, match=field):
        train.TrainConfig(**{**TINY, field: value})


def test_incompatible_stabiliser_combinations_are_refused():
    with pytest.raises(ValueError, match="d_updates"):
        train.TrainConfig(**TINY, loss="wgan_gp", d_updates="alternating")
    with pytest.raises(ValueError, match="simultaneous"):
        train.TrainConfig(**TINY, simultaneous=True, augment="both")
    with pytest.raises(ValueError, match="instance_noise_steps"):
        engine.GAN(
            models.build_generator(16, filters=8),
            models.build_discriminator(filters=8),
            latent_dim=16,
            instance_noise=0.1,
            instance_noise_steps=0,
        )
    with pytest.raises(ValueError, match="unknown GAN option"):
        engine.GAN(
            models.build_generator(16, filters=8),
            models.build_discriminator(filters=8),
            latent_dim=16,
            instance_noise_std=0.1,
        )


# -- Model rewrites and the comparison ------------------------------------------------------


def test_layer_noise_is_active_in_training_calls_only(rng):
    from ganutils import toy

    noisy = st.add_layer_noise(toy.build_generator(8, hidden=16, depth=2), 0.5, seed=0)
    assert sum(isinstance(layer, layers.GaussianNoise) for layer in noisy.layers) == 2
    latents = rng.normal(size=(4, 8)).astype(np.float32)
    np.testing.assert_array_equal(noisy(latents), noisy(latents))
    assert not np.allclose(noisy(latents, training=True), noisy(latents, training=True))
    generator = models.build_generator(16, filters=8, noise=0.5, seed=0)
    z = rng.normal(size=(2, 16)).astype(np.float32)
    np.testing.assert_array_equal(generator(z), generator(z))
    assert not np.allclose(generator(z, training=True), generator(z, training=True))


def test_add_minibatch_stddev_shares_the_features_and_adds_one_input(rng):
    from ganutils import toy

    base = toy.build_discriminator(hidden=16, depth=2)
    wrapped = st.add_minibatch_stddev(base)
    assert wrapped.layers[-1].kernel.shape == (17, 1)
    assert wrapped(rng.normal(size=(5, 2)).astype(np.float32)).shape == (5, 1)
    shared = {id(w) for w in base.weights} & {id(w) for w in wrapped.weights}
    assert len(shared) == len(base.weights) - 2  # all but the old logit layer's kernel and bias


def test_summarise_gives_mean_spread_delta_and_cost():
    results = {
        "baseline": [{"modes_covered": 4, "high_quality": 0.5, "step_ms": 2.0}] * 3,
        "fix": [{"modes_covered": m, "high_quality": 0.8, "step_ms": 4.0} for m in (6, 8, 7)],
    }
    rows = {row["name"]: row for row in studies.summarise(results, baseline="baseline")}
    assert rows["fix"]["modes_covered_mean"] == pytest.approx(7)
    assert rows["fix"]["modes_covered_std"] == pytest.approx(np.std([6, 8, 7], ddof=1))
    assert rows["fix"]["modes_covered_delta"] == pytest.approx(3)
    assert rows["fix"]["cost_ratio"] == pytest.approx(2)
    assert rows["baseline"]["cost_ratio"] == 1 and rows["fix"]["runs"] == 3
    table = studies.markdown_table(list(rows.values()), targets={"fix": "mode collapse"})
    assert "| fix | mode collapse | 2.00x | 7.0 ± 1.0 (+3.0) | 80% ± 0% (+30%) |" in table
    with pytest.raises(ValueError, match="baseline"):
        studies.summarise(results, baseline="nope")


def test_compare_toy_runs_each_variant_for_each_seed():
    from ganutils import toy

    base = toy.ToyConfig(steps=40, check_every=20, batch_size=32, g_hidden=16, d_hidden=16)
    variants = [
        studies.Variant("baseline"),
        studies.Variant("wgan-gp", gan_options={"loss": "wgan_gp"}),
        studies.Variant("rmsprop", overrides={"optimizer": "rmsprop"}),
    ]
    results = studies.compare_toy(variants, base, seeds=(0, 1))
    assert list(results) == ["baseline", "wgan-gp", "rmsprop"]
    for runs in results.values():
        assert len(runs) == 2
        for run in runs:
            assert 0 <= run["high_quality"] <= 1 and run["step_ms"] > 0
    assert dataclasses.replace(base, seed=3).seed == 3


# -- R1 and the overfitting signal ---------------------------------------------------------


def _dense_critic(weights, bias=0.3):
    critic = keras.Sequential([keras.Input((len(weights),)), layers.Dense(1)])
    critic.set_weights([np.asarray(weights, np.float32)[:, None], np.array([bias], np.float32)])
    return critic


def test_r1_penalty_of_a_linear_discriminator_is_its_squared_weight_norm(rng):
    # D(x) = w . x + b has the gradient w at every image: the penalty is ||w||^2.
    weights = [0.5, -2.0, 1.0]
    critic = _dense_critic(weights)
    real = rng.normal(size=(16, 3)).astype(np.float32)
    assert float(st.r1_penalty(critic, real)) == pytest.approx(0.25 + 4.0 + 1.0, rel=1e-6)


def test_r1_gamma_adds_gamma_times_w_to_the_discriminators_gradient():
    # 0.5 * gamma * ||w||^2 has the gradient gamma * w: with SGD at rate lr the
    # penalised D moves by an extra -lr * gamma * w, and its bias not at all.
    real = np.array([[1.0, 0.5, -0.5], [0.2, -0.3, 0.8]], np.float32)
    latents = np.array([[1.0, -1.0], [0.5, 2.0]], np.float32)
    moved = {}
    for gamma in (None, 2.0):
        generator = keras.Sequential([keras.Input((2,)), layers.Dense(3)])
        generator.set_weights([np.array([[0.5, -1.0, 0.2], [0.3, 0.1, -0.4]]), np.zeros(3)])
        gan = engine.GAN(
            generator, _dense_critic([0.7, -0.2, 0.4], 0.1), latent_dim=2, r1_gamma=gamma
        )
        gan.compile(
            d_optimizer=engine.make_optimizer("sgd", 0.5),
            g_optimizer=engine.make_optimizer("sgd", 0.5),
        )
        gan.train_step((real, latents))
        moved[gamma] = [w.numpy() for w in gan.discriminator.trainable_weights]
    w = np.array([[0.7], [-0.2], [0.4]])
    np.testing.assert_allclose(moved[2.0][0], moved[None][0] - 0.5 * 2.0 * w, atol=1e-6)
    np.testing.assert_allclose(moved[2.0][1], moved[None][1], atol=1e-7)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"r1_gamma": 0}, "r1_gamma"),
        ({"r1_gamma": "1"}, "r1_gamma"),
        ({"r1_gamma": 1.0, "simultaneous": True}, "simultaneous"),
        ({"fresh_fakes": 1}, "fresh_fakes"),
    ],
)
def test_r1_and_step_order_options_are_checked(options, match):
    with pytest.raises(ValueError, match=match):
        engine.GANOptions(latent_dim=4, **options)


def test_real_sign_counts_the_logits_on_the_real_side():
    assert st.real_sign([2.0, -1.0, 3.0, 0.5]) == 0.5
    assert st.real_sign(np.full((10, 1), -4.0)) == -1.0
    assert st.real_sign([0.0, 1.0]) == 0.5  # a logit of exactly 0 counts as neither
    for bad in ([], [np.nan, 1.0]):
        with pytest.raises(ValueError, match="logits"):
            st.real_sign(bad)


def test_r1_trains_the_book_discriminator_under_fit(real_batch):
    # The book's D is a functional model of blocks; its input gradient must reach the penalty.
    gan = train.build_gan(train.TrainConfig(**TINY, r1_gamma=1.0))
    penalty = float(st.r1_penalty(gan.discriminator, real_batch))
    assert np.isfinite(penalty) and penalty > 0
    dataset = train.make_dataset(real_batch, batch_size=32)
    logs = gan.fit(dataset, epochs=1, verbose=0, shuffle=False).history
    assert np.isfinite(logs["d_loss"][0]) and np.isfinite(logs["g_loss"][0])


# -- The modern baseline: hinge, the relativistic pairing loss, R2 and the gamma schedule ----


def test_hinge_losses_match_their_formula():
    real = np.array([[2.0], [0.5], [-1.0]], np.float32)
    fake = np.array([[-3.0], [0.0], [1.0]], np.float32)
    loss_real, loss_fake = st.hinge_discriminator_losses(real, fake)
    assert float(loss_real) == pytest.approx((0.0 + 0.5 + 2.0) / 3)  # relu(1 - D(x))
    assert float(loss_fake) == pytest.approx((0.0 + 1.0 + 2.0) / 3)  # relu(1 + D(G(z)))


def test_relativistic_losses_pair_each_real_with_its_fake():
    real = np.array([[2.0], [0.5], [-1.0]], np.float32)
    fake = np.array([[-3.0], [0.0], [1.0]], np.float32)
    d_loss, g_loss = st.relativistic_losses(real, fake)
    gap = (real - fake).ravel()
    softplus = np.log1p(np.exp(-gap))  # softplus(-(D(x) - D(G(z))))
    assert float(d_loss) == pytest.approx(softplus.mean(), rel=1e-6)
    assert float(g_loss) == pytest.approx(np.log1p(np.exp(gap)).mean(), rel=1e-6)
    # Pairing matters: shuffling the fakes changes the loss (a mean of differences would not).
    assert float(st.relativistic_losses(real, fake[::-1])[0]) != pytest.approx(float(d_loss))
    with pytest.raises(ValueError, match="same shape"):
        st.relativistic_losses(real, fake[:2])


def _linear_gan(**options):
    generator = keras.Sequential([keras.Input((2,)), layers.Dense(3)])
    generator.set_weights([np.array([[0.5, -1.0, 0.2], [0.3, 0.1, -0.4]]), np.zeros(3)])
    gan = engine.GAN(generator, _dense_critic([0.7, -0.2, 0.4], 0.1), latent_dim=2, **options)
    gan.compile(
        d_optimizer=engine.make_optimizer("sgd", 0.5),
        g_optimizer=engine.make_optimizer("sgd", 0.5),
    )
    return gan


_REAL = np.array([[1.0, 0.5, -0.5], [0.2, -0.3, 0.8]], np.float32)
_LATENTS = np.array([[1.0, -1.0], [0.5, 2.0]], np.float32)
_W = np.array([[0.7], [-0.2], [0.4]])


@pytest.mark.parametrize("loss", ["gan", "hinge", "relativistic"])
def test_each_gamma_adds_gamma_times_w_to_the_discriminators_gradient(loss):
    # On D(x) = w . x + b both R1 (at real images) and R2 (at fakes) equal ||w||^2, so
    # each adds gamma * w to D's gradient: SGD at 0.5 moves w by an extra -0.5 * gamma * w.
    moved = {}
    for name, options in {
        "none": {},
        "r1": {"r1_gamma": 2.0},
        "r2": {"r2_gamma": 2.0},
        "both": {"r1_gamma": 2.0, "r2_gamma": 1.0},
    }.items():
        gan = _linear_gan(loss=loss, **options)
        gan.train_step((_REAL, _LATENTS))
        moved[name] = [w.numpy() for w in gan.discriminator.trainable_weights]
    for name, gamma in (("r1", 2.0), ("r2", 2.0), ("both", 3.0)):
        np.testing.assert_allclose(moved[name][0], moved["none"][0] - 0.5 * gamma * _W, atol=1e-6)
        np.testing.assert_allclose(moved[name][1], moved["none"][1], atol=1e-7)


def test_the_relativistic_step_reports_its_formula_and_updates_g_through_the_pair():
    gan = _linear_gan(loss="relativistic")
    fakes = gan.generator(_LATENTS).numpy()
    real_logits = _REAL @ _W + 0.1
    fake_logits = fakes @ _W + 0.1
    logs = gan.train_step((_REAL, _LATENTS))
    expected = np.log1p(np.exp(-(real_logits - fake_logits))).mean()
    assert float(logs["d_loss"]) == pytest.approx(expected, rel=1e-5)  # before D's update
    assert float(logs["d_loss_fake"]) == 0.0  # the pair's loss is recorded whole, as real


def test_the_gamma_schedule_falls_linearly_then_holds():
    gan = _linear_gan(r1_gamma=10.0, gamma_end_share=0.1, gamma_steps=4)
    scales = []
    for _ in range(6):
        scales.append(float(gan._gamma_scale()))
        gan.g_optimizer.iterations.assign_add(1)
    np.testing.assert_allclose(scales, [1.0, 0.775, 0.55, 0.325, 0.1, 0.1], atol=1e-6)
    assert float(_linear_gan(r1_gamma=1.0)._gamma_scale()) == 1.0


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"loss": "hinged"}, "loss"),
        ({"r2_gamma": -1.0}, "r2_gamma"),
        ({"r2_gamma": 1.0, "simultaneous": True}, "simultaneous"),
        ({"r1_gamma": 1.0, "gamma_end_share": 0.1}, "go together"),
        ({"r1_gamma": 1.0, "gamma_end_share": -0.1, "gamma_steps": 10}, "gamma_end_share"),
        ({"r1_gamma": 1.0, "gamma_end_share": 0.1, "gamma_steps": 0}, "gamma_steps"),
        ({"gamma_end_share": 0.1, "gamma_steps": 10}, "need r1_gamma or r2_gamma"),
        ({"loss": "relativistic", "d_updates": "alternating"}, "d_updates"),
    ],
)
def test_modern_baseline_options_are_checked(options, match):
    with pytest.raises(ValueError, match=match):
        engine.GANOptions(latent_dim=4, **options)


@pytest.mark.parametrize("precision", ["mixed_float16", "mixed_bfloat16"])
def test_relativistic_r1_r2_trains_under_mixed_precision(real_batch, precision):
    config = train.TrainConfig(
        **TINY, loss="relativistic", r1_gamma=1.0, r2_gamma=1.0, precision=precision
    )
    gan = train.build_gan(config)
    logs = {name: float(value) for name, value in gan.train_step(real_batch).items()}
    assert all(np.isfinite(v) for v in logs.values()), logs
    hinge = train.build_gan(train.TrainConfig(**TINY, loss="hinge", precision=precision))
    logs = {name: float(value) for name, value in hinge.train_step(real_batch).items()}
    assert all(np.isfinite(v) for v in logs.values()), logs


# -- The pieces the engine's step calls: the loss table and the penalties -------------------


def test_every_loss_name_is_one_entry_of_the_table():
    assert gan_options.LOSSES == tuple(st.GAME_LOSSES)
    assert st.game_loss("gan", "minimax").g_loss is st.minimax_generator_loss
    assert st.game_loss("hinge", "minimax") is st.GAME_LOSSES["hinge"]  # only "gan" reads it
    assert engine.GANOptions(latent_dim=4, loss="wgan").clip_bound == st.WGAN_CLIP
    assert engine.GANOptions(latent_dim=4, loss="wgan_gp").clip_bound is None
    with pytest.raises(ValueError, match="loss"):
        st.game_loss("hinged")


@pytest.mark.parametrize(
    ("options", "d_kinds", "g_kinds"),
    [
        ({}, [], []),
        ({"loss": "wgan_gp", "batch_norm": False}, [st.GradientPenalty], []),
        ({"r1_gamma": 1.0, "r2_gamma": 1.0}, [st.ZeroCentredPenalty], []),
        (
            {"loss": "wgan_gp", "r1_gamma": 1.0, "l2": 1e-3, "batch_norm": False},
            [st.GradientPenalty, st.ZeroCentredPenalty, st.WeightPenalty],
            [st.WeightPenalty],
        ),
    ],
)
def test_the_options_become_penalty_pieces(options, d_kinds, g_kinds):
    gan = train.build_gan(train.TrainConfig(**TINY, **options))
    assert [type(penalty) for penalty in gan.d_penalties] == d_kinds
    assert [type(penalty) for penalty in gan.g_penalties] == g_kinds


def test_penalty_pieces_add_their_terms():
    critic = _dense_critic([0.5, -2.0, 1.0])  # gradient w everywhere: R1 = R2 = ||w||^2 = 5.25
    real = np.ones((4, 3), np.float32)
    both = st.ZeroCentredPenalty(r1_gamma=2.0, r2_gamma=4.0)
    assert float(both(critic, real, None)) == pytest.approx(0.5 * 2.0 * 5.25, rel=1e-6)
    assert float(both(critic, None, real)) == pytest.approx(0.5 * 4.0 * 5.25, rel=1e-6)
    halved = st.ZeroCentredPenalty(r1_gamma=2.0, scale=lambda: 0.5)
    assert float(halved(critic, real, real)) == pytest.approx(0.5 * 2.0 * 0.5 * 5.25, rel=1e-6)
    penalised = models.build_discriminator(filters=8, l2=1e-2, seed=0)
    weights = st.WeightPenalty(penalised)(critic, real, real)
    assert float(weights) == pytest.approx(float(sum(penalised.losses)), rel=1e-6)
