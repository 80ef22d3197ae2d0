namespace Acp.GptOss.Tools.Local;

/// <summary>The outcome of <see cref="LocalFiles.EditFileAsync"/>.</summary>
/// <param name="Path">The full, resolved path of the edited file.</param>
/// <param name="OldText">The whole file before the edit, for the editor's diff.</param>
/// <param name="NewText">The whole file after the edit.</param>
/// <param name="Summary">The plain-text result for the model; it already knows both fragments.</param>
internal sealed record FileEdit(string Path, string OldText, string NewText, string Summary);
