"""Which benchmark script produces which table: the declared registry.

Every ``bench_*.py`` of this folder has at least one entry (a script with
several experiments has one per experiment); ``reproduce.py`` runs the
entries in this order, ``python benchmarks/reproduce.py --list`` prints them,
and ``tests/test_benchmarks.py`` checks that the scripts and the entries match.

An entry is a *reproduction* when its table sets our numbers beside a
paper's table (``paper`` and ``table`` name it), else a *measurement* (speed,
memory, or our own mAP under a paper's protocol). ``args`` is its default
command line, the one that produced the table on its ``doc`` page (run from the
repository root as ``python benchmarks/<script> <args>``). ``kernel_level``
lists the private skhash modules a script imports on purpose: it times or
compares a kernel that has no public entry point.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One benchmark table: the script and arguments that produce it."""

    name: str
    script: str
    kind: str
    summary: str
    args: tuple = ()
    paper: str = ""
    table: str = ""
    doc: str = ""
    kernel_level: tuple = ()

    @property
    def command(self):
        """The command line, from the repository root."""
        return " ".join(["python", f"benchmarks/{self.script}", *self.args])


KINDS = ("reproduction", "measurement")

DHN_PAPER = (
    "Zhu, Long, Wang and Cao, Deep Hashing Network for Efficient Similarity "
    "Retrieval, AAAI 2016"
)
DSH_PAPER = (
    "Liu, Wang, Shan and Chen, Deep Supervised Hashing for Fast Image Retrieval, "
    "CVPR 2016"
)

REGISTRY = (
    Entry(
        name="bdnn",
        script="bench_bdnn_mnist.py",
        kind="reproduction",
        summary="UH-BDNN / SH-BDNN against ITQ, PCAH, SH, LSH, SDH on MNIST",
        paper=(
            "Do, Doan and Cheung, Learning to Hash with Binary Deep Neural "
            "Network, ECCV 2016"
        ),
        table=(
            "MNIST mAP at 8/16/24/32 bits: Euclidean top-50 ground truth "
            "(UH-BDNN) and same-class ground truth (SH-BDNN)"
        ),
        doc="reproduction_bdnn.rst",
        kernel_level=("skhash._kernels.dcc", "skhash.deep._bdnn"),
    ),
    Entry(
        name="cifar10-gist-baselines",
        script="bench_cifar10_gist_baselines.py",
        kind="reproduction",
        summary="LSH, PCAH, ITQ, SpectralHashing on CIFAR-10 GIST-512",
        args=("--cache", "/tmp/gist"),
        paper=DHN_PAPER + " (values of DNNH, Lai et al., CVPR 2015)",
        table="CIFAR-10 mAP of LSH, SH and ITQ at 12/24/32/48 bits",
        doc="benchmarks_datasets.rst",
    ),
    Entry(
        name="deep-pixels",
        script="bench_deep.py",
        kind="measurement",
        summary="DSH, DHN, HashNet, DNNH against ITQ, LSH on MNIST pixels",
        args=(
            "pixels",
            "--datasets",
            "mnist",
            "fashion-mnist",
            "--bits",
            "12",
            "48",
            "--epochs",
            "10",
        ),
        doc="reproduction_deep.rst",
    ),
    Entry(
        name="deep-throughput",
        script="bench_deep.py",
        kind="measurement",
        summary="training and encoding samples/s of the DSH CNN",
        args=("throughput", "--batch-size", "200"),
        doc="reproduction_deep.rst",
        kernel_level=("skhash.deep._modules",),
    ),
    Entry(
        name="deep-cifar10-dnnh",
        script="bench_deep.py",
        kind="reproduction",
        summary="DSH, DHN, HashNet, DNNH trained from scratch, CIFAR-10 images",
        args=("cifar10-dnnh", "--bits", "12", "48", "--epochs", "12"),
        paper=DHN_PAPER,
        table="CIFAR-10 mAP, DNNH protocol, 12/48 bits",
        doc="reproduction_deep.rst",
    ),
    Entry(
        name="deep-cifar10-dsh",
        script="bench_deep.py",
        kind="reproduction",
        summary="DSH's CNN on CIFAR-10, DSH's protocol (a shortened CPU schedule)",
        args=(
            "cifar10-dsh",
            "--bits",
            "12",
            "48",
            "--epochs",
            "7",
            "--finetune-epochs",
            "2",
            "--batch-size",
            "200",
            "--eval-each-epoch",
        ),
        paper=DSH_PAPER,
        table="CIFAR-10 mAP at 12 and 48 bits",
        doc="reproduction_deep.rst",
    ),
    Entry(
        name="dh-diagnosis",
        script="bench_dh_diagnosis.py",
        kind="measurement",
        summary="DH's network per epoch: mAP, saturation, bit balance",
        args=(
            "--bits",
            "32",
            "--init",
            "pca",
            "--norm",
            "dataset",
            "--opt",
            "sgd",
            "--momentum",
            "0",
            "--batch",
            "0",
            "--lr",
            "1",
            "--epochs",
            "100",
            "--eval",
            "0,10,30,100",
        ),
        doc="reproduction_ldph_dh_ksh_subic.rst",
    ),
    Entry(
        name="dqn-pixels",
        script="bench_dqn.py",
        kind="measurement",
        summary="DQN against PQ, OPQ, ITQ, LSH on MNIST / Fashion-MNIST pixels",
        doc="benchmarks_quantization.rst",
    ),
    Entry(
        name="dqn-cifar10",
        script="bench_dqn.py",
        kind="reproduction",
        summary="DQN through DSH's CNN; PQ, OPQ, ITQ, LSH on GIST-512 and pixels",
        args=("--datasets", "cifar10"),
        paper=(
            "Cao, Long, Wang, Zhu and Wen, Deep Quantization Network for "
            "Efficient Image Retrieval, AAAI 2016"
        ),
        table="CIFAR-10 mAP at 8/16/24/32 bits",
        doc="benchmarks_quantization.rst",
    ),
    Entry(
        name="fastscan",
        script="bench_fastscan.py",
        kind="measurement",
        summary="fast-scan and exact ADC search against FAISS: recall and time",
        args=("--repeats", "3"),
        doc="benchmarks_quantization.rst",
        kernel_level=("skhash._kernels.pq_fastscan",),
    ),
    Entry(
        name="features-speed",
        script="bench_features_speed.py",
        kind="measurement",
        summary="images/s of the EfficientNet-Lite0 trunk per execution engine",
        args=("--rounds", "3", "--batches", "3"),
        doc="reproduction_pretrained.rst",
    ),
    Entry(
        name="fit-times",
        script="bench_fit_times.py",
        kind="measurement",
        summary="fit and transform time and mAP of every estimator on digits",
        args=(),
        doc="benchmarks_fit_times.rst",
    ),
    Entry(
        name="gist-speed",
        script="bench_gist.py",
        kind="measurement",
        summary="GIST-512 throughput on the CIFAR-10 images",
        doc="benchmarks_datasets.rst",
    ),
    Entry(
        name="ldph-dh-ksh-subic",
        script="bench_ldph_dh_ksh_subic.py",
        kind="reproduction",
        summary="LDPH, DH, KSH, CCA-ITQ, SuBiC against their baselines",
        args=(
            "--datasets",
            "mnist",
            "fashion",
            "--parts",
            "ldph",
            "supervised",
            "dh",
            "subic",
        ),
        paper=(
            "LDPH (Wang et al., ACM MM 2016), DH (Liong et al., CVPR 2015), KSH "
            "(Liu et al., CVPR 2012), CCA-ITQ (Gong et al., TPAMI 2013), SuBiC "
            "(Jain et al., ICCV 2017)"
        ),
        table=(
            "each paper's claim against its baseline (LDPH > its reference, "
            "DH > ITQ, KSH and CCA-ITQ > ITQ, SuBiC > PQ), on MNIST and "
            "Fashion-MNIST rather than the papers' datasets"
        ),
        doc="reproduction_ldph_dh_ksh_subic.rst",
    ),
    Entry(
        name="linear-map",
        script="bench_linear_map.py",
        kind="measurement",
        summary="LSH, PCAH, ITQ, SpectralHashing mAP on MNIST / Fashion-MNIST",
        doc="benchmarks_linear.rst",
    ),
    Entry(
        name="memmap-memory",
        script="bench_memmap_memory.py",
        kind="measurement",
        summary="peak extra memory of a search on a memory-mapped database",
        args=(
            "--n",
            "1000000",
            "4000000",
            "16000000",
            "--n-bytes",
            "8",
            "9",
            "--algorithms",
            "numpy",
        ),
        doc="benchmarks_search.rst",
    ),
    Entry(
        name="opq-init",
        script="bench_opq_init.py",
        kind="measurement",
        summary="OPQ's starting rotation: distortion after 10 alternations",
        args=("ea", "10"),
        doc="benchmarks_quantization.rst",
        kernel_level=("skhash._kernels.pq", "skhash._kernels.pca"),
    ),
    Entry(
        name="pq-kmeans",
        script="bench_pq_kmeans.py",
        kind="measurement",
        summary="PQ's k-means against scikit-learn's KMeans from the same start",
        args=("--repeats", "2"),
        doc="benchmarks_quantization.rst",
        kernel_level=("skhash._kernels.pq",),
    ),
    Entry(
        name="pretrained-dnnh",
        script="bench_pretrained.py",
        kind="reproduction",
        summary="hashers and quantizers on pretrained CNN features, CIFAR-10",
        args=("dnnh", "--epochs", "30"),
        paper=DHN_PAPER + "; DQN (Cao et al., AAAI 2016)",
        table="CIFAR-10 mAP, DNNH protocol, 12/24/32/48 bits",
        doc="reproduction_pretrained.rst",
    ),
    Entry(
        name="pretrained-dsh",
        script="bench_pretrained.py",
        kind="reproduction",
        summary="DSH on pretrained CNN features, CIFAR-10, DSH's protocol",
        args=("dsh", "--bits", "12", "48", "--epochs", "10"),
        paper=DSH_PAPER,
        table="CIFAR-10 mAP at 12 and 48 bits",
        doc="reproduction_pretrained.rst",
    ),
    Entry(
        name="pretrained-finetune",
        script="bench_pretrained.py",
        kind="reproduction",
        summary="DHN and HashNet fine-tuning the pretrained network, CIFAR-10",
        args=(
            "finetune",
            "--methods",
            "HashNet",
            "DHN",
            "--bits",
            "48",
            "--epochs",
            "1",
        ),
        paper=DHN_PAPER + "; HashNet (Cao et al., ICCV 2017)",
        table="CIFAR-10 mAP at 48 bits, DNNH protocol",
        doc="reproduction_pretrained.rst",
        kernel_level=("skhash.features._onnx",),
    ),
    Entry(
        name="pretrained-probe",
        script="bench_pretrained.py",
        kind="measurement",
        summary="linear probe: pretrained against randomly initialised network",
        args=("probe",),
        doc="reproduction_pretrained.rst",
    ),
    Entry(
        name="quantization",
        script="bench_quantization.py",
        kind="measurement",
        summary="PQ and OPQ against faiss and nanopq: distortion, recall, speed",
        doc="benchmarks_quantization.rst",
        kernel_level=("skhash._kernels.pq",),
    ),
    Entry(
        name="search",
        script="bench_search.py",
        kind="measurement",
        summary="exact Hamming k-NN backends against FAISS and scikit-learn",
        args=(
            "--n",
            "1000000",
            "--queries",
            "1000",
            "--threads",
            "2",
            "--repeats",
            "3",
            "--bits",
            "64",
            "128",
            "--k",
            "10",
            "100",
            "1000",
            "--skip-learned",
            "--sklearn-queries",
            "10",
            "--mih-queries",
            "20",
        ),
        doc="benchmarks_search.rst",
        kernel_level=(
            "skhash._kernels.bits",
            "skhash._kernels.jit",
            "skhash.neighbors._brute",
            "skhash.neighbors._mih",
            "skhash.neighbors._numba_brute",
        ),
    ),
)
