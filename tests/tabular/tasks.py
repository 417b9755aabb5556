"""Real data for every task: penguins (multiclass species, regression body mass) and
breast cancer (binary, string labels), with pipelines fitted here as a user would."""

from __future__ import annotations

from conftest import ROOT

PENGUINS = ROOT / "examples" / "penguins" / "data" / "penguins.csv"
BREAST = ROOT / "examples" / "breast-cancer" / "data" / "breast-cancer.csv"
CATEGORICAL = ["island", "sex"]
NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]


def penguins():
    import pandas as pd

    return pd.read_csv(PENGUINS)


def breast():
    import pandas as pd

    return pd.read_csv(BREAST)


def _prep(numeric: list[str]):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    return ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "cat",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("encode", OneHotEncoder(handle_unknown="ignore")),
                    ]
                ),
                CATEGORICAL,
            ),
        ]
    )


def species_pipeline(c: float = 1.0, numeric: list[str] | None = None):
    """Species from bills, flippers, island and sex (imputers, one-hot encoder)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    cols = list(numeric or NUMERIC)
    return Pipeline(
        [("prep", _prep(cols)), ("model", LogisticRegression(C=c, max_iter=2000))]
    ), cols + CATEGORICAL


def mass_pipeline(alpha: float = 1.0, numeric: list[str] | None = None):
    """Body mass from bills, flippers, island and sex."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline

    cols = list(numeric or NUMERIC)
    return Pipeline([("prep", _prep(cols)), ("model", Ridge(alpha=alpha))]), cols + CATEGORICAL


def halves(frame, seed: int = 0):
    """A seeded train / test split of the rows."""
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    cut = len(shuffled) // 2
    return shuffled.iloc[:cut].reset_index(drop=True), shuffled.iloc[cut:].reset_index(drop=True)


def register_species(ws, name: str = "penguin-species", c: float = 1.0, numeric=None):
    """Fit and register a species classifier on one half; returns (version, test half)."""
    data = penguins().dropna(subset=["species"])
    train, test = halves(data)
    pipeline, cols = species_pipeline(c, numeric)
    pipeline.fit(train[cols], train["species"])
    info = ws.register(name, pipeline, data=train[[*cols, "species"]], target="species")
    return info, test, pipeline, cols


def register_mass(ws, name: str = "penguin-mass", alpha: float = 1.0, numeric=None):
    data = penguins().dropna(subset=["body_mass_g"])
    train, test = halves(data)
    pipeline, cols = mass_pipeline(alpha, numeric)
    pipeline.fit(train[cols], train["body_mass_g"])
    info = ws.register(name, pipeline, data=train[[*cols, "body_mass_g"]], target="body_mass_g")
    return info, test, pipeline, cols


def register_breast(ws, name: str = "breast-cancer", **options):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = breast()
    train, test = halves(data)
    cols = [c for c in data.columns if c != "diagnosis"]
    pipeline = make_pipeline(
        SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=2000)
    )
    pipeline.fit(train[cols], train["diagnosis"])
    info = ws.register(name, pipeline, data=train, target="diagnosis", **options)
    return info, test, pipeline, cols
