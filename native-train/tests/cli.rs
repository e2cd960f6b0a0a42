//! The trainer's commands end to end on real data: train a few steps and see the loss fall,
//! resume, export bit-identically, evaluate known predictions, predict on an HU scan, and refuse
//! bad input with the file named.

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::prelude::*;
use lungseg::volume::{read_nifti, write_mask_nifti};
use lungseg::weights::load_model;

fn shared(rel: &str) -> PathBuf {
    PathBuf::from(lungseg::SHARED_DATA).join(rel)
}

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_native-train"))
        .args(args)
        .output()
        .expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn ok(args: &[&str]) -> String {
    let (success, text) = run(args);
    assert!(success, "native-train {args:?} failed:\n{text}");
    text
}

/// The binary's `data::sha256_hex`, which a test of a binary crate cannot call.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// A 3-slice data folder cut from the real MedSeg volume (slices 0, 1 and 40, the empty one).
fn small_data(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let zs = [0usize, 1, 40];
    for name in ["image", "mask_binary", "mask_classes"] {
        let v = read_nifti(&std::fs::read(shared(&format!("medseg/train/{name}.nii.gz"))).unwrap())
            .unwrap();
        let plane = 512 * 512;
        let mut g = v.geometry.clone();
        g.dims[2] = zs.len();
        let labels: Vec<u8> = zs
            .iter()
            .flat_map(|&z| (z * plane..(z + 1) * plane).map(|i| v.data.get(i) as u8))
            .collect();
        std::fs::write(
            dir.join(format!("{name}.nii.gz")),
            write_mask_nifti(&g, &labels, name).unwrap(),
        )
        .unwrap();
    }
    std::fs::write(
        dir.join("slices.csv"),
        "z,medseg_index,similarity_group,infected_pixels\n0,0,0,1\n1,1,1,1\n2,48,48,0\n",
    )
    .unwrap();
}

/// Two training steps of batch 2 on the data folder `data` into `out`, with `extra` options.
fn two_steps(data: &str, out: &Path, extra: &[&str]) -> (bool, String) {
    let common = [
        "train",
        "--data",
        data,
        "--out",
        out.to_str().unwrap(),
        "--batch-size",
        "2",
        "--max-iterations",
        "2",
    ];
    run(&[&common[..], extra].concat())
}

/// The model a run saved last, with its card.
fn last_model(run_dir: &Path) -> (lungseg::model::FfrNet, lungseg::weights::ModelCard) {
    load_model(
        &std::fs::read(run_dir.join("last.lungseg")).unwrap(),
        &Device::flex(),
    )
    .unwrap()
}

/// A run's log.jsonl, one JSON object per epoch.
fn log_rows(run_dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run_dir.join("log.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn log_losses(run_dir: &Path) -> Vec<(usize, usize, f64)> {
    log_rows(run_dir)
        .iter()
        .map(|v| {
            (
                v["epoch"].as_u64().unwrap() as usize,
                v["iterations"].as_u64().unwrap() as usize,
                v["train_loss"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn train_resume_export_eval_predict() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    small_data(&data);
    let run_dir = tmp.path().join("run");
    let (d, r) = (data.to_str().unwrap(), run_dir.to_str().unwrap());
    let common = [
        "train",
        "--data",
        d,
        "--out",
        r,
        "--preset",
        "lite",
        "--epochs",
        "40",
        "--batch-size",
        "2",
        "--lr",
        "2e-3",
    ];
    let aug = ["--no-geometric-aug", "--no-intensity-aug", "--scr", "0.5"];

    // A few steps on two real slices: the loss falls.
    let text = ok(&[&common[..], &aug[..], &["--max-iterations", "6"]].concat());
    assert!(
        text.contains("2 training slices, 1 validation slices"),
        "{text}"
    );
    let log = log_losses(&run_dir);
    assert_eq!(log.len(), 6);
    assert!(log[5].2 < log[0].2 * 0.9, "loss did not fall: {log:?}");
    for f in ["checkpoint.bin", "best.lungseg", "last.lungseg", "log.csv"] {
        assert!(run_dir.join(f).exists(), "{f} missing");
    }
    assert!(!run_dir.join("checkpoint.tmp").exists());

    // Resume continues from the saved step, keeping the earlier epochs.
    let text = ok(&[
        &common[..],
        &aug[..],
        &["--max-iterations", "8", "--resume"],
    ]
    .concat());
    assert!(
        text.contains("resuming after epoch 6 (iteration 6)"),
        "{text}"
    );
    let resumed = log_losses(&run_dir);
    assert_eq!(
        resumed.iter().map(|l| l.1).collect::<Vec<_>>(),
        (1..=8).collect::<Vec<_>>()
    );
    assert_eq!(&resumed[..6], &log[..]);
    // A different run refuses to resume this checkpoint.
    let (success, text) = run(&[
        &common[..],
        &["--scr", "0", "--max-iterations", "9", "--resume"],
    ]
    .concat());
    assert!(
        !success && text.contains("checkpoint.bin") && text.contains("other options"),
        "{text}"
    );

    // Export, then load both files: bit-identical outputs.
    let exported = tmp.path().join("model.lungseg");
    ok(&["export", "--model", r, "--out", exported.to_str().unwrap()]);
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("model.card.json")).unwrap())
            .unwrap();
    assert_eq!(card["config"]["name"], "lite");
    assert_eq!(card["training"]["data_sha256"].as_str().unwrap().len(), 64);
    assert!(
        card["training"]["validation"]["binary"]["per_slice_mean"]["dice"].is_number(),
        "{card}"
    );
    assert_eq!(
        card["weights_sha256"],
        sha256_hex(&std::fs::read(&exported).unwrap()),
        "the card names the exported file's hash"
    );
    let device = Device::flex();
    let (a, _) = load_model(
        &std::fs::read(run_dir.join("best.lungseg")).unwrap(),
        &device,
    )
    .unwrap();
    let (b, _) = load_model(&std::fs::read(&exported).unwrap(), &device).unwrap();
    let x = Tensor::<4>::random(
        [1, 1, 256, 256],
        burn::tensor::Distribution::Uniform(0.0, 1.0),
        &device,
    );
    let (ya, yb) = (a.forward(x.clone()).into_data(), b.forward(x).into_data());
    assert_eq!(
        ya.iter::<f32>().collect::<Vec<_>>(),
        yb.iter::<f32>().collect::<Vec<_>>()
    );

    // Eval of a perfect and of an empty prediction.
    let json = tmp.path().join("eval.json");
    let truth = data.join("mask_binary.nii.gz");
    ok(&[
        "eval",
        "--data",
        d,
        "--prediction",
        truth.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for avg in ["per_slice_mean", "pooled"] {
        for m in ["dice", "iou", "sensitivity", "specificity", "precision"] {
            assert_eq!(report["binary"][avg][m], 1.0, "{avg}.{m}");
        }
    }
    let empty = tmp.path().join("empty.nii.gz");
    let v = read_nifti(&std::fs::read(&truth).unwrap()).unwrap();
    std::fs::write(
        &empty,
        write_mask_nifti(&v.geometry, &vec![0; v.data.len()], "empty").unwrap(),
    )
    .unwrap();
    ok(&[
        "eval",
        "--data",
        d,
        "--prediction",
        empty.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // Slices 0 and 1 have infection (Dice 0); slice 2 is empty on both sides (Dice 1 by convention).
    let per_slice: Vec<f64> = report["binary"]["per_slice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["dice"].as_f64().unwrap())
        .collect();
    assert_eq!(per_slice, vec![0.0, 0.0, 1.0]);
    assert!(
        (report["binary"]["per_slice_mean"]["dice"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12
    );
    assert_eq!(report["binary"]["pooled"]["dice"], 0.0);
    assert_eq!(report["binary"]["pooled"]["precision"], 1.0);
    // The model path prints a table.
    let eval_model = [
        "eval",
        "--model",
        exported.to_str().unwrap(),
        "--data",
        d,
        "--slices",
        "0,2",
    ];
    let text = ok(&eval_model);
    assert!(text.contains("| infection      | per slice |"), "{text}");
    // With test-time augmentation the JSON and the table say so.
    let tta_json = tmp.path().join("tta.json");
    let text = ok(&[
        &eval_model[..],
        &["--tta", "--json", tta_json.to_str().unwrap()],
    ]
    .concat());
    assert!(text.contains("TTA (mirror + zoom)"), "{text}");
    let tta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&tta_json).unwrap()).unwrap();
    assert_eq!(tta["tta"], true);
    assert_eq!(tta["tta_views"], "TTA (mirror + zoom)");
    assert_eq!(tta["slices"], 2);

    // Predict on the LIDC HU fixture: the mask carries the input's geometry.
    let mask = tmp.path().join("lidc_mask.nii.gz");
    let stats = tmp.path().join("lidc_stats.json");
    let lidc = shared("fixtures/lidc_chest_2slices_hu.nii.gz");
    ok(&[
        "predict",
        "--model",
        exported.to_str().unwrap(),
        "--input",
        lidc.to_str().unwrap(),
        "--output",
        mask.to_str().unwrap(),
        "--stats",
        stats.to_str().unwrap(),
    ]);
    let scan = read_nifti(&std::fs::read(&lidc).unwrap()).unwrap();
    let m = read_nifti(&std::fs::read(&mask).unwrap()).unwrap();
    assert_eq!(m.dims(), scan.dims());
    assert_eq!(m.geometry.affine, scan.geometry.affine);
    assert_eq!(m.geometry.spacing, scan.geometry.spacing);
    assert!(m.data.iter().all(|v| v == 0.0 || v == 1.0));
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stats).unwrap()).unwrap();
    let lung_ml = s["lung"]["total"]["ml"].as_f64().unwrap();
    // Two 1 mm slices through both lungs hold tens of mL of lung.
    assert!((20.0..120.0).contains(&lung_ml), "lung {lung_ml} mL");
    assert!(
        s["lung"]["right"]["voxels"].as_u64().unwrap() > 10_000
            && s["lung"]["left"]["voxels"].as_u64().unwrap() > 10_000
    );

    // The same slices as a DICOM folder (with a stray file in it) give the same mask.
    let folder = tmp.path().join("dicom");
    std::fs::create_dir_all(folder.join("sub")).unwrap();
    std::fs::copy(
        shared("fixtures/lidc_chest_slice1.dcm"),
        folder.join("IM0001"),
    )
    .unwrap();
    std::fs::copy(
        shared("fixtures/lidc_chest_slice0.dcm"),
        folder.join("sub/IM0002"),
    )
    .unwrap();
    std::fs::write(folder.join("README.txt"), "exported by the scanner").unwrap();
    let dmask = tmp.path().join("dicom_mask.nii.gz");
    let dstats = tmp.path().join("dicom_stats.json");
    let text = ok(&[
        "predict",
        "--model",
        exported.to_str().unwrap(),
        "--input",
        folder.to_str().unwrap(),
        "--output",
        dmask.to_str().unwrap(),
        "--stats",
        dstats.to_str().unwrap(),
    ]);
    assert!(
        text.contains("1 file(s) skipped") && text.contains("README.txt"),
        "{text}"
    );
    let dm = read_nifti(&std::fs::read(&dmask).unwrap()).unwrap();
    assert_eq!(dm.data, m.data, "DICOM folder and NIfTI masks differ");
    assert_eq!(
        dm.geometry.affine[0][0], -0.625,
        "the mask carries the series' RAS affine"
    );
    let ds: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&dstats).unwrap()).unwrap();
    assert_eq!(
        ds["series"]["uid"],
        "1.2.826.0.1.3680043.8.498.22032370629701851459946006816247576553"
    );
    assert_eq!(ds["lung"]["total"]["voxels"], s["lung"]["total"]["voxels"]);

    // Bad input names the file and the problem.
    let junk = tmp.path().join("junk");
    std::fs::create_dir_all(&junk).unwrap();
    std::fs::write(junk.join("notes.txt"), "x".repeat(300)).unwrap();
    let (success, text) = run(&[
        "predict",
        "--model",
        exported.to_str().unwrap(),
        "--input",
        junk.to_str().unwrap(),
        "--output",
        mask.to_str().unwrap(),
    ]);
    assert!(
        !success && text.contains("notes.txt") && text.contains("not a DICOM"),
        "{text}"
    );
    let model_bytes = std::fs::read(&exported).unwrap();
    let truncated = tmp.path().join("truncated.lungseg");
    std::fs::write(&truncated, &model_bytes[..model_bytes.len() / 2]).unwrap();
    let (success, text) = run(&["eval", "--model", truncated.to_str().unwrap(), "--data", d]);
    assert!(!success && text.contains("truncated.lungseg"), "{text}");
    // A card that claims the paper preset over lite weights.
    let other = tmp.path().join("other.lungseg");
    let text_card = String::from_utf8_lossy(
        &model_bytes[16..16 + u32::from_le_bytes(model_bytes[12..16].try_into().unwrap()) as usize],
    )
    .to_string();
    let mut card: serde_json::Value = serde_json::from_str(&text_card).unwrap();
    card["config"]["channels"] = serde_json::json!(128);
    let json = serde_json::to_vec(&card).unwrap();
    let mut forged = model_bytes[..12].to_vec();
    forged.extend((json.len() as u32).to_le_bytes());
    forged.extend(&json);
    forged.extend(&model_bytes[16 + text_card.len()..]);
    std::fs::write(&other, forged).unwrap();
    let (success, text) = run(&["eval", "--model", other.to_str().unwrap(), "--data", d]);
    assert!(
        !success && text.contains("other.lungseg") && text.contains("do not fit"),
        "{text}"
    );
}

#[test]
fn bad_data_folders_name_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    small_data(&data);
    let d = data.to_str().unwrap();
    let out = tmp.path().join("run");
    let train = [
        "train",
        "--data",
        d,
        "--out",
        out.to_str().unwrap(),
        "--max-iterations",
        "1",
    ];
    // A run that would train nothing is refused, not reported as a best epoch of 0.
    let (success, text) = run(&[&train[..5], &["--max-iterations", "0"]].concat());
    assert!(
        !success && text.contains("--max-iterations must be positive"),
        "{text}"
    );
    // Unknown label in the class mask.
    let v = read_nifti(&std::fs::read(data.join("mask_classes.nii.gz")).unwrap()).unwrap();
    let mut labels: Vec<u8> = v.data.iter().map(|x| x as u8).collect();
    labels[1000] = 7;
    std::fs::write(
        data.join("mask_classes.nii.gz"),
        write_mask_nifti(&v.geometry, &labels, "bad").unwrap(),
    )
    .unwrap();
    let (success, text) = run(&train);
    assert!(
        !success && text.contains("mask_classes.nii.gz") && text.contains("label 7"),
        "{text}"
    );
    // A mask of another size.
    let mut g = v.geometry.clone();
    g.dims[2] = 2;
    std::fs::write(
        data.join("mask_classes.nii.gz"),
        write_mask_nifti(&g, &vec![0; 512 * 512 * 2], "bad").unwrap(),
    )
    .unwrap();
    let (success, text) = run(&train);
    assert!(
        !success && text.contains("mask_classes.nii.gz") && text.contains("differ"),
        "{text}"
    );
    // A missing volume.
    std::fs::remove_file(data.join("mask_binary.nii.gz")).unwrap();
    let (success, text) = run(&train);
    assert!(
        !success && text.contains("mask_binary.nii.gz") && text.contains("cannot read"),
        "{text}"
    );
}

/// The page trusts `www/model/lite.card.json` to say which weights it ships (it keys its cache
/// by the hash and checks downloads against it): the committed pair must agree.
#[test]
fn shipped_card_names_the_shipped_weights() {
    let www = Path::new(env!("CARGO_MANIFEST_DIR")).join("../www/model");
    let weights = std::fs::read(www.join("lite.lungseg")).unwrap();
    let mut beside: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(www.join("lite.card.json")).unwrap())
            .unwrap();
    assert_eq!(
        beside["weights_sha256"],
        sha256_hex(&weights),
        "www/model/lite.card.json does not describe www/model/lite.lungseg: export both again"
    );
    beside.as_object_mut().unwrap().remove("weights_sha256");
    let (inside, _) = lungseg::weights::read_card(&weights).unwrap();
    // Through text, as the card is written (f32 fields print as f32).
    let inside: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&inside).unwrap()).unwrap();
    assert_eq!(
        beside, inside,
        "the card beside the weights is the card inside"
    );
}

#[test]
fn info_prints_parameters_and_gflop() {
    let text = ok(&["info", "--preset", "paper"]);
    assert!(
        text.contains("39,947,714") && text.contains("93.26"),
        "{text}"
    );
    let text = ok(&["info", "--preset", "lite"]);
    assert!(
        text.contains("3,818,866") && text.contains("8.93") && !text.contains("fine step"),
        "{text}"
    );
    let text = ok(&["info", "--preset", "lite", "--fine-step", "32"]);
    assert!(
        text.contains("3,830,738") && text.contains("fine step:   32 channels"),
        "{text}"
    );
}

/// `--fine-step` trains, its model card carries it, `eval` loads that model, and a run cannot
/// resume under another head.
#[test]
fn a_fine_step_trains_evaluates_and_keeps_its_run() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    small_data(&data);
    let run_dir = tmp.path().join("run");
    let (d, r) = (data.to_str().unwrap(), run_dir.to_str().unwrap());
    let train = [
        "train",
        "--data",
        d,
        "--out",
        r,
        "--epochs",
        "4",
        "--batch-size",
        "2",
    ];
    ok(&[&train[..], &["--fine-step", "8", "--max-iterations", "1"]].concat());
    let bytes = std::fs::read(run_dir.join("last.lungseg")).unwrap();
    let (model, card) = load_model(&bytes, &Device::flex()).unwrap();
    assert_eq!(card.config.fine_step, Some(8));
    assert!(model.decoder.fine.is_some());
    let last = run_dir.join("last.lungseg");
    let text = ok(&["eval", "--model", last.to_str().unwrap(), "--data", d]);
    assert!(
        text.contains("3 slices") && text.contains("per slice"),
        "{text}"
    );
    let (success, text) = run(&[&train[..], &["--max-iterations", "2", "--resume"]].concat());
    assert!(!success, "resumed a fine-step run without it:\n{text}");
    ok(&[
        &train[..],
        &["--fine-step", "8", "--max-iterations", "2", "--resume"],
    ]
    .concat());
    assert_eq!(log_rows(&run_dir).len(), 2);
    let (success, text) = run(&[&train[..], &["--fine-step", "0"]].concat());
    assert!(!success && text.contains("fine step"), "{text}");
}

/// `bench` refuses a GPU backend this build lacks before measuring anything.
#[cfg(not(feature = "cuda"))]
#[test]
fn bench_names_a_backend_that_is_not_compiled_in() {
    let (success, text) = run(&["bench", "--backend", "cuda", "--presets", "lite"]);
    assert!(
        !success && text.contains("`cuda` was not compiled in") && text.contains("--features cuda"),
        "{text}"
    );
}

#[test]
fn same_seed_same_numbers_and_four_classes_and_folds() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    small_data(&data);
    let d = data.to_str().unwrap();
    let run_a = tmp.path().join("a");
    let run_b = tmp.path().join("b");
    for r in [&run_a, &run_b] {
        ok(&[
            "train",
            "--data",
            d,
            "--out",
            r.to_str().unwrap(),
            "--batch-size",
            "2",
            "--max-iterations",
            "2",
            "--seed",
            "11",
        ]);
    }
    let strip = |r: &Path| -> Vec<serde_json::Value> {
        let mut rows = log_rows(r);
        for v in &mut rows {
            v.as_object_mut()
                .unwrap()
                .retain(|k, _| !["seconds", "slices_per_s"].contains(&k.as_str()));
        }
        rows
    };
    assert_eq!(
        strip(&run_a),
        strip(&run_b),
        "same seed, same backend: same losses and validation"
    );

    // `--split-seed` keeps seed 11's split under another run seed: the held-out slices are
    // seed 11's (seed 12 alone holds out another), the losses are seed 12's own.
    let held_out = |text: &str| -> String {
        let line = text
            .lines()
            .find(|l| l.contains("validation slices"))
            .unwrap();
        line[line.find('[').unwrap()..=line.find(']').unwrap()].to_string()
    };
    let short = |r: &Path, seeds: &[&str]| {
        let mut args = vec!["train", "--data", d, "--out", r.to_str().unwrap()];
        args.extend_from_slice(&["--batch-size", "2", "--max-iterations", "1"]);
        args.extend_from_slice(seeds);
        ok(&args)
    };
    let text_11 = short(&tmp.path().join("s11"), &["--seed", "11"]);
    let text_12 = short(&tmp.path().join("s12"), &["--seed", "12"]);
    let shared_split = tmp.path().join("s12-split11");
    let text_12_11 = short(&shared_split, &["--seed", "12", "--split-seed", "11"]);
    assert_ne!(
        held_out(&text_11),
        held_out(&text_12),
        "{text_11}\n{text_12}"
    );
    assert_eq!(held_out(&text_12_11), held_out(&text_11), "{text_12_11}");
    assert_ne!(
        log_losses(&shared_split)[0].2,
        log_losses(&tmp.path().join("s11"))[0].2
    );
    let card =
        lungseg::weights::read_card(&std::fs::read(shared_split.join("last.lungseg")).unwrap())
            .unwrap()
            .0;
    assert_eq!(card.training["split"]["seed"], 11);
    assert_eq!(card.training["options"]["seed"], 12);
    assert_eq!(card.training["options"]["split_seed"], 11);

    // Four classes: trains, and eval reports each class.
    let four = tmp.path().join("four");
    ok(&[
        "train",
        "--data",
        d,
        "--out",
        four.to_str().unwrap(),
        "--classes",
        "4",
        "--batch-size",
        "2",
        "--max-iterations",
        "1",
    ]);
    let text = ok(&[
        "eval",
        "--model",
        four.join("last.lungseg").to_str().unwrap(),
        "--data",
        d,
    ]);
    for class in ["infection", "ground_glass", "consolidation", "effusion"] {
        assert!(text.contains(&format!("| {class:<14} |")), "{text}");
    }

    // Another input size: the exported card records it, and eval runs the model at that size.
    let small = tmp.path().join("small");
    let train_small = |extra: &[&str]| {
        let mut args = vec!["train", "--data", d, "--out", small.to_str().unwrap()];
        args.extend_from_slice(&["--batch-size", "2", "--max-iterations", "1"]);
        args.extend_from_slice(extra);
        run(&args)
    };
    let exported = tmp.path().join("small.lungseg");
    let export_small = || -> serde_json::Value {
        ok(&[
            "export",
            "--model",
            small.to_str().unwrap(),
            "--out",
            exported.to_str().unwrap(),
        ]);
        let card = std::fs::read_to_string(tmp.path().join("small.card.json")).unwrap();
        serde_json::from_str(&card).unwrap()
    };
    let (good, text) = train_small(&["--input-size", "100"]);
    assert!(
        !good && text.contains("input_size must be a multiple of 8"),
        "{text}"
    );
    let (good, text) = train_small(&["--input-size", "128"]);
    assert!(good, "{text}");
    assert_eq!(export_small()["config"]["input_size"], 128);
    let text = ok(&["eval", "--model", exported.to_str().unwrap(), "--data", d]);
    assert!(text.contains("| infection"), "{text}");

    // Window training: 64² crops of 128² slices train; validation and the model stay at 128²,
    // and the card records the window. A window the slice cannot hold is refused.
    for bad in ["128", "60"] {
        let (good, text) = train_small(&["--input-size", "128", "--crop", bad]);
        assert!(!good && text.contains(&format!("--crop {bad}")), "{text}");
    }
    let (good, text) = train_small(&["--input-size", "128", "--crop", "64"]);
    assert!(good, "{text}");
    let rows = log_rows(&small);
    assert!(rows[0]["train_loss"].as_f64().unwrap().is_finite());
    assert!(rows[0]["valid_dice_per_slice"].is_number());
    let card = export_small();
    assert_eq!(card["config"]["input_size"], 128);
    assert_eq!(card["training"]["options"]["augment"]["crop"], 64);

    // Cross-validation over similarity groups writes every fold and a summary.
    let cv = tmp.path().join("cv");
    let text = ok(&[
        "train",
        "--data",
        d,
        "--out",
        cv.to_str().unwrap(),
        "--folds",
        "3",
        "--batch-size",
        "1",
        "--max-iterations",
        "1",
    ]);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(cv.join("cv.json")).unwrap()).unwrap();
    assert_eq!(summary["folds"].as_array().unwrap().len(), 3, "{text}");
    let held: Vec<u64> = summary["folds"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| {
            f["valid_slices"]
                .as_array()
                .unwrap()
                .iter()
                .map(|z| z.as_u64().unwrap())
        })
        .collect();
    let mut sorted = held.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![0, 1, 2],
        "every slice is held out exactly once"
    );
    assert!(summary["last_epoch"]["dice_per_slice"]["mean"].is_number());
    for f in 0..3 {
        assert!(cv.join(format!("fold-{f}/last.lungseg")).exists());
    }
}

/// `--devices 2` on flex: two workers share each batch (the data-parallel path a multi-GPU
/// machine takes), the run is reproducible, and the saved model records its devices.
#[test]
fn two_devices_train_reproducibly_and_the_model_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    small_data(&data);
    let d = data.to_str().unwrap();
    let train = |out: &Path, devices: &str, batch: &str| {
        run(&[
            "train",
            "--data",
            d,
            "--out",
            out.to_str().unwrap(),
            "--devices",
            devices,
            "--batch-size",
            batch,
            "--max-iterations",
            "3",
            "--scr",
            "0.5",
        ])
    };
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for r in [&a, &b] {
        let (good, text) = train(r, "2", "2");
        assert!(good, "{text}");
    }
    let losses = log_losses(&a);
    assert_eq!(losses.len(), 3, "{losses:?}");
    assert!(
        losses.iter().all(|l| l.2.is_finite() && l.2 > 0.0),
        "{losses:?}"
    );
    let rows = |r: &Path| -> Vec<(f64, f64)> {
        log_rows(r)
            .iter()
            .map(|v| {
                let f = |k: &str| v[k].as_f64().unwrap();
                (f("train_loss"), f("valid_dice_per_slice"))
            })
            .collect()
    };
    assert_eq!(rows(&a), rows(&b), "same seed, same devices: same numbers");
    let (_, card) = last_model(&a);
    assert_eq!(card.training["devices"], 2);

    let (good, text) = train(&tmp.path().join("c"), "3", "2");
    assert!(
        !good && text.contains("--batch-size 2 cannot be split over --devices 3"),
        "{text}"
    );
    let (good, text) = train(&tmp.path().join("c"), "0", "2");
    assert!(
        !good && text.contains("--devices must be at least 1"),
        "{text}"
    );
}

#[test]
fn pseudo_labels_need_a_teacher_of_the_same_split() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    small_data(&data);
    let unl = tmp.path().join("unlabeled");
    std::fs::create_dir_all(&unl).unwrap();
    for n in [
        "Data-1_coronacases_org_004_60.jpg",
        "Data-1_radiopaedia_org_covid-19-pneumonia-14_85914_0-dcm_30.jpg",
        "Data-1_radiopaedia_org_covid-19-pneumonia-14_85914_0-dcm_50.jpg",
    ] {
        std::fs::copy(shared(&format!("unlabeled/images/{n}")), unl.join(n)).unwrap();
    }
    let d = data.to_str().unwrap();
    let train = |out: &Path, extra: &[&str]| two_steps(d, out, extra);
    let teacher_dir = tmp.path().join("teacher");
    let (success, text) = train(&teacher_dir, &[]);
    assert!(success, "{text}");
    let teacher = teacher_dir.join("last.lungseg");
    let (t, u) = (teacher.to_str().unwrap(), unl.to_str().unwrap());

    // Two labelled + two pseudo-labelled slices per epoch: two iterations of two.
    let student = tmp.path().join("student");
    let pseudo = ["--unlabeled", u, "--teacher", t, "--pseudo-per-epoch", "2"];
    let (success, text) = train(&student, &pseudo);
    assert!(success, "{text}");
    let log = log_losses(&student);
    assert_eq!(log.iter().map(|l| (l.0, l.1)).collect::<Vec<_>>(), [(1, 2)]);
    let card = lungseg::weights::read_card(&std::fs::read(student.join("last.lungseg")).unwrap())
        .unwrap()
        .0;
    let p = &card.training["options"]["pseudo"];
    assert_eq!(p["unlabeled_slices"], 3, "{p}");
    assert_eq!(p["per_epoch"], 2, "{p}");
    assert_eq!(p["teacher_sha256"].as_str().unwrap().len(), 64, "{p}");
    // Runs from before --teacher-tta keep their fingerprint: the key is absent when off.
    assert!(p.get("teacher_tta").is_none(), "{p}");
    let student_tta = tmp.path().join("student_tta");
    let (success, text) = train(&student_tta, &[&pseudo[..], &["--teacher-tta"]].concat());
    assert!(success, "{text}");
    let card =
        lungseg::weights::read_card(&std::fs::read(student_tta.join("last.lungseg")).unwrap())
            .unwrap()
            .0;
    // Named by its views, so a run whose teacher averaged others does not resume under this one.
    assert_eq!(
        card.training["options"]["pseudo"]["teacher_tta"],
        lungseg::pipeline::TTA_NAME
    );

    // A teacher of another input size labels at its own and the labels follow the student's.
    let student_small = tmp.path().join("student_small");
    let (success, text) = train(
        &student_small,
        &[&pseudo[..], &["--input-size", "128"]].concat(),
    );
    assert!(success, "{text}");
    assert_eq!(log_losses(&student_small).len(), 1, "{text}");

    // A teacher that validated elsewhere may have trained on this split's validation slices.
    let (success, text) = train(
        &tmp.path().join("s2"),
        &[&pseudo[..], &["--fold", "1"]].concat(),
    );
    assert!(
        !success && text.contains("last.lungseg") && text.contains("leak"),
        "{text}"
    );
    // A teacher with other outputs.
    let (success, text) = train(
        &tmp.path().join("s3"),
        &[&pseudo[..], &["--classes", "4"]].concat(),
    );
    assert!(!success && text.contains("classes"), "{text}");
    // No teacher.
    let (success, text) = train(&tmp.path().join("s4"), &["--unlabeled", u]);
    assert!(!success && text.contains("--teacher"), "{text}");
}

#[test]
fn weight_average_is_what_the_run_saves_and_survives_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    small_data(&data);
    let d = data.to_str().unwrap();
    let train = |out: &Path, extra: &[&str]| {
        let common = [
            "train",
            "--data",
            d,
            "--out",
            out.to_str().unwrap(),
            "--epochs",
            "40",
            "--batch-size",
            "2",
            "--no-geometric-aug",
            "--no-intensity-aug",
        ];
        run(&[&common[..], extra].concat())
    };
    let (straight, resumed, plain) = (
        tmp.path().join("straight"),
        tmp.path().join("resumed"),
        tmp.path().join("plain"),
    );
    for (dir, extra) in [
        (&straight, &["--ema", "0.5", "--max-iterations", "4"][..]),
        (&resumed, &["--ema", "0.5", "--max-iterations", "2"]),
        (&plain, &["--max-iterations", "4"]),
    ] {
        let (success, text) = train(dir, extra);
        assert!(success, "{text}");
    }
    // Resuming without the average is another run; with it, the run continues.
    let (success, text) = train(&resumed, &["--max-iterations", "4", "--resume"]);
    assert!(!success && text.contains("other options"), "{text}");
    let (success, text) = train(
        &resumed,
        &["--ema", "0.5", "--max-iterations", "4", "--resume"],
    );
    assert!(success && text.contains("resuming after epoch 2"), "{text}");

    // The average rides beside training without changing it: same losses, and the trained
    // weights score what the plain run scores.
    let (s, p) = (log_rows(&straight), log_rows(&plain));
    assert_eq!(s.len(), 4);
    for (s, p) in s.iter().zip(&p) {
        assert_eq!(s["train_loss"], p["train_loss"]);
        assert_eq!(s["valid_dice_raw_per_slice"], p["valid_dice_per_slice"]);
        assert!(p.get("valid_dice_raw_per_slice").is_none(), "{p}");
    }
    let device = Device::flex();
    let (_, card) = last_model(&straight);
    assert_eq!(card.training["options"]["ema"], 0.5, "{}", card.training);

    // What the run saves is the average (not the trained weights), and a resumed run's average
    // is the uninterrupted run's, bit for bit.
    let x = Tensor::<4>::random(
        [1, 1, 256, 256],
        burn::tensor::Distribution::Uniform(0.0, 1.0),
        &device,
    );
    let logits = |dir: &Path| -> Vec<f32> {
        let (m, _) = last_model(dir);
        m.forward(x.clone()).into_data().try_to_vec().unwrap()
    };
    let (s, r, p) = (logits(&straight), logits(&resumed), logits(&plain));
    assert_eq!(s, r, "the resumed run lost its weight average");
    let diff = s
        .iter()
        .zip(&p)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(
        diff > 1e-3,
        "the saved model is the trained weights ({diff})"
    );
}

/// Only in a build with a GPU backend (`--features vulkan`): either the GPUs open and a step
/// trains on them, or the command ends with one error naming the cause, not with CubeCL's
/// panics: on one device, and data-parallel on two (which a one-GPU machine refuses).
#[cfg(feature = "vulkan")]
#[test]
fn gpu_backend_trains_or_names_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    small_data(&data);
    for devices in ["1", "2"] {
        let out = tmp.path().join(format!("run-{devices}"));
        let (good, text) = run(&[
            "train",
            "--backend",
            "vulkan",
            "--devices",
            devices,
            "--data",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--batch-size",
            "2",
            "--max-iterations",
            "1",
        ]);
        if good {
            assert_eq!(log_rows(&out).len(), 1, "{text}");
        } else if devices == "1" {
            assert!(
                text.contains("backend `vulkan`: the GPU could not be opened (")
                    && !text.contains("panicked"),
                "{text}"
            );
        } else {
            assert!(
                text.contains("backend `vulkan`: GPU ")
                    && text.contains("(--devices 2 trains on GPUs 0 to 1)")
                    && !text.contains("panicked"),
                "{text}"
            );
        }
    }
}

#[test]
fn pretrain_restores_resumes_and_train_starts_from_it() {
    let tmp = tempfile::tempdir().unwrap();
    let unl = tmp.path().join("unlabeled");
    std::fs::create_dir_all(&unl).unwrap();
    for n in [
        "Data-1_coronacases_org_004_60.jpg",
        "Data-1_coronacases_org_004_120.jpg",
        "Data-1_radiopaedia_org_covid-19-pneumonia-14_85914_0-dcm_30.jpg",
        "Data-1_radiopaedia_org_covid-19-pneumonia-14_85914_0-dcm_50.jpg",
    ] {
        std::fs::copy(shared(&format!("unlabeled/images/{n}")), unl.join(n)).unwrap();
    }
    let pre = tmp.path().join("pre");
    let (u, p) = (unl.to_str().unwrap(), pre.to_str().unwrap());
    let pretrain = |extra: &[&str]| {
        let mut args = vec![
            "pretrain",
            "--unlabeled",
            u,
            "--out",
            p,
            "--input-size",
            "64",
            "--epochs",
            "8",
            "--per-epoch",
            "4",
            "--batch-size",
            "2",
            "--lr",
            "2e-3",
        ];
        args.extend_from_slice(extra);
        ok(&args)
    };
    let mse = |rows: &[serde_json::Value]| -> Vec<f64> {
        rows.iter()
            .map(|r| r["restoration_mse"].as_f64().unwrap())
            .collect()
    };

    // A run that would train nothing is refused.
    let (success, text) = run(&[
        "pretrain",
        "--unlabeled",
        u,
        "--out",
        p,
        "--max-iterations",
        "0",
    ]);
    assert!(
        !success && text.contains("--max-iterations must be positive"),
        "{text}"
    );
    // Restoring corrupted real slices: the error falls within a few steps.
    pretrain(&["--max-iterations", "10"]);
    let first = log_rows(&pre);
    assert_eq!(first.len(), 5);
    let m = mse(&first);
    assert!(m[4] < m[0] * 0.8, "restoration error did not fall: {m:?}");
    // Resume continues from the saved step and keeps the earlier epochs.
    let text = pretrain(&["--resume"]);
    assert!(text.contains("resuming after epoch 5"), "{text}");
    let rows = log_rows(&pre);
    assert_eq!(rows.len(), 8);
    assert_eq!(&rows[..5], &first[..]);
    assert_eq!(rows[7]["iterations"], 16);
    let weights = pre.join("pretrained.lungseg");
    let (card, _) = lungseg::weights::read_card(&std::fs::read(&weights).unwrap()).unwrap();
    assert_eq!(card.training["self_supervised"]["unlabeled_slices"], 4);
    assert_eq!(card.training["epoch"], 8);

    // `train --init`: with a zero learning rate the run's weights are the pretrained ones,
    // except the classifier, which starts fresh.
    let data = tmp.path().join("data");
    small_data(&data);
    let run_dir = tmp.path().join("run");
    let (d, r, w) = (
        data.to_str().unwrap(),
        run_dir.to_str().unwrap(),
        weights.to_str().unwrap(),
    );
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--data",
            d,
            "--out",
            r,
            "--batch-size",
            "2",
            "--max-iterations",
            "1",
            "--init",
            w,
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let (success, text) = train(&["--input-size", "64", "--lr", "0"]);
    assert!(success, "{text}");
    let dev = Device::flex();
    let (pretrained, _) = load_model(&std::fs::read(&weights).unwrap(), &dev).unwrap();
    let bytes = std::fs::read(run_dir.join("last.lungseg")).unwrap();
    let (trained, card) = load_model(&bytes, &dev).unwrap();
    let same = |a: &Tensor<4>, b: &Tensor<4>| {
        a.to_data().try_to_vec::<f32>().unwrap() == b.to_data().try_to_vec::<f32>().unwrap()
    };
    assert!(same(
        &pretrained.decoder.refine.conv.weight.val(),
        &trained.decoder.refine.conv.weight.val()
    ));
    assert!(same(
        &pretrained.backbone.stem.conv.weight.val(),
        &trained.backbone.stem.conv.weight.val()
    ));
    assert!(!same(
        &pretrained.decoder.classifier.weight.val(),
        &trained.decoder.classifier.weight.val()
    ));
    let init = &card.training["options"]["init"];
    assert_eq!(init["sha256"].as_str().unwrap().len(), 64, "{init}");
    // Weights of another network (here: another input size) are refused, the file named.
    let (success, text) = train(&[]);
    assert!(
        !success && text.contains("pretrained.lungseg") && text.contains("same network"),
        "{text}"
    );
}

#[test]
fn scans_reports_every_shared_scan_with_the_lung_field_against_the_reference() {
    let dir = std::env::temp_dir().join(format!("lungseg-scans-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("scans.json");
    let lidc = shared("fixtures/lidc_chest_2slices_hu.nii.gz");
    let out = ok(&[
        "scans",
        "--json",
        json.to_str().unwrap(),
        lidc.to_str().unwrap(),
    ]);
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(rows.len(), 5, "four shared scans and the one given:\n{out}");
    let row = |name: &str| {
        rows.iter()
            .find(|r| r["scan"] == name)
            .unwrap_or_else(|| panic!("no row {name}:\n{out}"))
    };
    let abdomen = row("totalseg_abdomen_3mm_hu");
    // The whole lung field (infection added back) against the reference lobes; the field
    // alone is held closer in tests/lung_field.rs.
    let dice = abdomen["lung_dice"][0].as_f64().unwrap();
    assert!(dice > 0.8, "lung Dice {dice}:\n{out}");
    assert_eq!(abdomen["lung_slices"], 12, "{out}");
    let medseg = row("medseg (52 slices)");
    assert!(medseg["infection_dice"].as_f64().unwrap() > 0.7, "{out}");
    // The extra scan is the shared LIDC one again: the same figures.
    let given = row(lidc.to_str().unwrap());
    assert_eq!(
        given["infection_ml"],
        row("lidc_chest_2slices_hu")["infection_ml"]
    );
    assert!(out.contains("| totalseg_abdomen_3mm_hu |"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn experiment_tables_run_on_the_shipped_model() {
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../www/model/lite.lungseg");
    let m = model.to_str().unwrap();
    // A model averaged with itself is that model: every row of the table reads the same.
    let text = ok(&["experiment", "ensemble", &format!("{m},{m}"), "3,22"]);
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| model"))
        .map(|l| l.split_once(" | ").unwrap().1)
        .collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(rows.iter().all(|r| *r == rows[0]), "{text}");
    // Slice 22 holds infection the shipped model finds: the scores are not all zero.
    assert!(!rows[0].starts_with("0.0000 / 0.0000"), "{text}");
    let (success, text) = run(&["experiment", "tta-zoom", m]);
    assert!(
        !success && text.contains("usage: experiment tta-zoom MODEL"),
        "{text}"
    );
}

#[test]
fn medseg_and_real_hu_scans_agree_in_air_and_soft_tissue() {
    // The one preprocessing path: MedSeg's 8-bit tones are read as the lung window's, so air
    // and soft tissue, the window's anchors, must sit where the real HU scan puts them.
    let text = ok(&["experiment", "tones"]);
    let medians = |scan: &str| -> Vec<f64> {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("| {scan}")))
            .unwrap();
        let cells: Vec<&str> = row.split(" | ").collect();
        // air, lung, soft tissue: "p5 / p50 / p95"
        cells[2..5]
            .iter()
            .map(|c| c.split(" / ").nth(1).unwrap().parse().unwrap())
            .collect()
    };
    let (medseg, abdomen) = (medians("MedSeg"), medians("totalseg_abdomen_3mm_hu"));
    assert!((medseg[0] - abdomen[0]).abs() <= 8.0, "air: {text}");
    assert!((medseg[2] - abdomen[2]).abs() <= 8.0, "soft tissue: {text}");
}

#[test]
fn negatives_join_training_from_an_hu_scan_and_init_whole_keeps_the_classifier() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    small_data(&data);
    let d = data.to_str().unwrap();
    let abdomen = shared("fixtures/totalseg_abdomen_3mm_hu.nii.gz");
    let train =
        |out: &Path, extra: &[&str]| two_steps(d, out, &[&["--input-size", "64"], extra].concat());
    // Two labelled + two negative slices per epoch: two iterations of two, one epoch.
    let neg = tmp.path().join("neg");
    let a = abdomen.to_str().unwrap();
    let (success, text) = train(&neg, &["--negatives", a, "--negatives-per-epoch", "2"]);
    assert!(success, "{text}");
    assert_eq!(
        log_losses(&neg)
            .iter()
            .map(|l| (l.0, l.1))
            .collect::<Vec<_>>(),
        [(1, 2)]
    );
    let (_, card) = last_model(&neg);
    let n = &card.training["options"]["negatives"];
    // The 3 mm scan's slices that hold lung: its lung bases.
    assert_eq!(n["slices"], 12, "{n}");
    assert_eq!(n["per_epoch"], 2, "{n}");
    assert_eq!(
        n["scan_sha256"],
        sha256_hex(&std::fs::read(&abdomen).unwrap())
    );

    // 8-bit windowed slices are no real HU scan.
    let medseg = shared("medseg/train/image.nii.gz");
    let (success, text) = train(
        &tmp.path().join("bad"),
        &["--negatives", medseg.to_str().unwrap()],
    );
    assert!(!success && text.contains("Hounsfield units"), "{text}");

    // --init-whole starts from every weight, the classifier's included; plain --init draws a
    // fresh classifier. At a learning rate of 0 no step moves a weight.
    let m = neg.join("last.lungseg");
    let classifier = |dir: &Path| -> Vec<f32> {
        let (model, _) = last_model(dir);
        model
            .decoder
            .classifier
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
    };
    for (name, extra) in [("whole", &["--init-whole"][..]), ("head", &[])] {
        let out = tmp.path().join(name);
        let args = [&["--init", m.to_str().unwrap(), "--lr", "0"][..], extra].concat();
        let (success, text) = train(&out, &args);
        assert!(success, "{text}");
        assert_eq!(
            classifier(&out) == classifier(&neg),
            name == "whole",
            "{name}"
        );
    }
    let (success, text) = train(
        &tmp.path().join("four"),
        &[
            "--init",
            m.to_str().unwrap(),
            "--init-whole",
            "--classes",
            "4",
        ],
    );
    assert!(
        !success && text.contains("--init-whole needs a model of this run's 4 classes"),
        "{text}"
    );
}

#[test]
fn dense_lung_copies_join_each_epoch_and_the_card_records_them() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    small_data(&data);
    let d = data.to_str().unwrap();
    let train =
        |out: &Path, extra: &[&str]| two_steps(d, out, &[&["--input-size", "64"], extra].concat());
    // Two labelled slices and two dense-lung copies per epoch: two iterations of two.
    let out = tmp.path().join("dense");
    let (success, text) = train(&out, &["--dense-lung", "2", "--dense-lung-rise", "30"]);
    assert!(success, "{text}");
    let iterations: Vec<(usize, usize)> = log_losses(&out).iter().map(|l| (l.0, l.1)).collect();
    assert_eq!(iterations, [(1, 2)]);
    let (_, card) = last_model(&out);
    let dense = &card.training["options"]["dense_lung"];
    assert_eq!(dense["per_epoch"], 2, "{dense}");
    assert_eq!(dense["max_rise"], 30.0, "{dense}");
    for bad in [
        &["--dense-lung", "0"][..],
        &["--dense-lung", "2", "--dense-lung-rise", "300"],
    ] {
        let (success, text) = train(&tmp.path().join("bad"), bad);
        assert!(!success && text.contains("--dense-lung"), "{text}");
    }
}
