"""Published numbers to print beside ours (the sources are in ../shared/REFERENCES.md).

Only numbers verified in the papers, and only where the setting matches what the run measured: Bai
et al. 2018's music NLLs only for a run on their data file (JSB Chorales or Nottingham), the adding
problem's Bai et al. numbers only at T = 600; baselines that follow from the task's definition (predict
1 on the adding problem, the memoryless strategy on copy memory) whenever they apply. Where the
published metric is not the task's target metric, the note names it.
"""
from __future__ import annotations

import math
from typing import Any

BAI_2018 = "Bai et al. 2018"
MUSIC = {  # test NLL per frame, Table 1
    "jsb": {"lstm": 8.45, "gru": 8.43, "vanilla": 8.91},
    "nottingham": {"lstm": 3.29, "gru": 3.46, "vanilla": 4.05},
}
ADDING_T600 = {"lstm": 0.164, "gru": 5.3e-5, "vanilla": 0.177}  # test MSE
COPY_T1000 = {"lstm": 0.0204, "gru": 0.0197}  # test cross-entropy
CHAR_PTB = {"lstm": 1.36, "gru": 1.37, "vanilla": 1.48}  # test bpc
SEQ_MNIST = {  # test accuracy %, (pixel by pixel, permuted): Bai et al. Table 1, Cooijmans et al. Table 1
    BAI_2018: {"lstm": (87.2, 85.7), "gru": (96.2, 87.3), "vanilla": (21.5, 25.3)},
    "Cooijmans et al. 2016": {"vanilla": (35.0, 35.0), "irnn": (97.0, 82.0), "lstm": (98.9, 90.2)},
}


def published_note(task: str, options: dict[str, Any], arch: str, metric: str, test_loss: float | None = None) -> str:
    """One cell of the main table's "published" column ("—" when nothing comparable is known).
    ``test_loss``: our mean test loss, shown beside a published loss when the target metric is another."""
    notes = []
    if task == "music":
        data = str(options.get("data", "")).lower()
        for name, table in MUSIC.items():
            if name in data and arch in table:
                notes.append(f"{table[arch]} ({BAI_2018}, test NLL/frame)")
    elif task == "addition" and options.get("variant") == "adding":
        if int(options.get("length", 0)) == 600 and arch in ADDING_T600:
            notes.append(f"{ADDING_T600[arch]} ({BAI_2018}, T=600, MSE)")
        notes.append("predict-1 baseline MSE 0.167")
    elif task == "copy" and options.get("variant", "memory") == "memory":
        length, recall, symbols = int(options.get("length", 10)), int(options.get("recall", 10)), int(options.get("symbols", 8))
        baseline = recall * math.log(symbols) / (length + 2 * recall)
        if length == 1000 and arch in COPY_T1000:
            notes.append(f"CE {COPY_T1000[arch]} ({BAI_2018}, T=1000)")
        ours = f"; ours: test loss {test_loss:.4g}" if test_loss is not None and math.isfinite(test_loss) else ""
        notes.append(f"memoryless baseline CE {baseline:.4g}{ours}")
    elif task == "seqmnist" and options.get("data"):  # MNIST itself, not the bundled 8x8 digits
        permuted = str(options.get("permuted", False)).lower() in ("true", "1")
        for source, accuracies in SEQ_MNIST.items():
            if arch in accuracies:
                notes.append(f"{accuracies[arch][permuted]}% ({source}, {'permuted ' if permuted else ''}MNIST, test acc)")
    elif task == "charlm" and "ptb" in str(options.get("data", "")).lower() and arch in CHAR_PTB:
        notes.append(f"{CHAR_PTB[arch]} ({BAI_2018}, char PTB, bpc)")
    return "; ".join(notes) or "—"
