namespace Acp.GptOss.Tools;

/// <summary>An edit worked out but not yet written (<see cref="IWorkspace.PrepareEditAsync"/>).</summary>
/// <param name="Path">The full, resolved path of the file.</param>
/// <param name="OldText">The whole file now.</param>
/// <param name="NewText">The whole file after the edit.</param>
/// <param name="Line">The 1-based line where the replacement starts.</param>
/// <param name="HadBom">Whether the file starts with a UTF-8 byte order mark, which the write keeps.</param>
internal sealed record PreparedEdit(string Path, string OldText, string NewText, int Line, bool HadBom);
