# Students on the full Fashion-MNIST training split (55,000 images) with the
# schedule the teachers were trained with (chosen on val,
# configs/_base_/schedules/fmnist_recipe.py: batch 128, lr 0.1, 4 epochs,
# one of warm-up, cosine), which fits the 2-core machine.
full_split_options = {
    'train_dataloader.dataset.num_per_class': None,
    'train_dataloader.batch_size': 128,
    'optim_wrapper.optimizer.lr': 0.1,
    # A checkpoint per epoch: a killed run resumes within minutes.
    'default_hooks.checkpoint.interval': 1}
full_split_epochs = 4
